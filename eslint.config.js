/**
 * ESLint flat config: neostandard (with TypeScript) plus the additions aegir makes, copied here
 * rather than depending on aegir (see shared/STYLE.md, "TS and lint").
 */

import { readdirSync } from 'node:fs'
import path from 'node:path'
import importX from 'eslint-plugin-import-x'
import neostandard, { resolveIgnoresFromGitignore } from 'neostandard'

/**
 * protons writes `name.ts` beside every `name.proto`: generated code is not linted. Found from the
 * `.proto` files so that a new schema needs no change here.
 */
const generated = readdirSync(path.join(import.meta.dirname, 'src'), { recursive: true, encoding: 'utf8' })
  .filter(file => file.endsWith('.proto'))
  .map(file => `src/${file.replaceAll('\\', '/').replace(/\.proto$/, '.ts')}`)

/** A relative import or re-export whose specifier does not end in `.ts` */
const RELATIVE_WITHOUT_TS = ':matches(ImportDeclaration, ExportNamedDeclaration, ExportAllDeclaration, ImportExpression)' +
  '[source.value=/^[.]/]:not([source.value=/[.]ts$/])'

export default [
  {
    // whatever git ignores (dist/, node_modules/, data dirs, testnet dirs) and generated code
    ignores: [...resolveIgnoresFromGitignore(), ...generated]
  },

  ...neostandard({ ts: true, noJsx: true }),

  {
    name: 'p2pstore/all',
    plugins: {
      'import-x': importX
    },
    rules: {
      'no-console': 'error',
      'max-depth': ['error', 4],
      // `void promise` marks a promise deliberately left running
      'no-void': ['error', { allowAsStatement: true }],
      'import-x/first': 'error',
      'import-x/no-duplicates': 'error',
      'import-x/consistent-type-specifier-style': ['error', 'prefer-top-level'],
      // builtins, packages, then our own modules, then every `import type` last; each group sorted
      'import-x/order': ['error', {
        groups: ['builtin', 'external', 'internal', 'parent', 'sibling', 'index', 'object', 'type'],
        'newlines-between': 'never',
        alphabetize: { order: 'asc', caseInsensitive: true }
      }]
    }
  },

  {
    name: 'p2pstore/ts',
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname
      }
    },
    rules: {
      '@typescript-eslint/explicit-function-return-type': ['error', {
        allowExpressions: true,
        allowTypedFunctionExpressions: true,
        allowHigherOrderFunctions: true,
        allowDirectConstAssertionInArrowFunctions: true
      }],
      '@typescript-eslint/consistent-type-imports': ['error', {
        prefer: 'type-imports',
        fixStyle: 'separate-type-imports'
      }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // only-throw-error does the same with types, and also sees through variables
      'no-throw-literal': 'off',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      // tsc rewrites `.ts` to `.js` on emit (rewriteRelativeImportExtensions)
      'no-restricted-syntax': ['error', {
        selector: RELATIVE_WITHOUT_TS,
        message: 'Relative imports name the .ts file: tsc rewrites the extension on emit.'
      }]
    }
  },

  {
    name: 'p2pstore/src',
    files: ['src/**'],
    rules: {
      // bit operations are rare in the product and each one says so with a disable comment
      'no-bitwise': 'error'
    }
  },

  {
    name: 'p2pstore/console',
    // the one module that writes to the terminal, and benchmarks, whose output is their result
    files: ['src/cli/output.ts', 'test/bench/**'],
    rules: {
      'no-console': 'off'
    }
  }
]
