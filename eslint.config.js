/**
 * ESLint flat config: neostandard (with TypeScript) plus the additions aegir makes, copied here
 * rather than depending on aegir (see shared/STYLE.md, "TS and lint").
 */

import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import importX from 'eslint-plugin-import-x'
import neostandard, { resolveIgnoresFromGitignore } from 'neostandard'
import ts from 'typescript'

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

/**
 * The floors of shared/STYLE.md, top to bottom: a part may import only from floors below its own
 * (or its own folder). `index.ts` is the package's entry and may gather from any floor; `testing.ts`,
 * the `p2pstore/testing` entry (test nets, faults, checker), sits on the top floor and nothing
 * imports it. Files at
 * the foot (constants, errors) are imported by everyone and import nothing of ours but each other.
 */
const FLOORS = [
  ['src/cli', 'src/testing.ts'],
  ['src/check'],
  ['src/testnet'],
  ['src/daemon.ts', 'src/client'],
  ['src/api'],
  ['src/peer.ts'],
  ['src/health', 'src/limits'],
  ['src/config.ts', 'src/join'],
  ['src/connections', 'src/standing'],
  ['src/replication'],
  ['src/membership'],
  ['src/storage', 'src/roster'],
  ['src/protocol', 'src/channel', 'src/quota'],
  ['src/clock', 'src/routing'],
  ['src/datadir', 'src/faults', 'src/metrics'],
  ['src/tasks', 'src/util'],
  ['src/polyfill.ts', 'src/constants.ts', 'src/errors.ts']
]

/** Subsystem folders: from outside, only their `index.ts` may be imported. */
const FOLDERS = FLOORS.flat().filter(part => !part.endsWith('.ts'))

const floorZones = FLOORS.flatMap((floor, i) => floor.map(target => ({
  target,
  from: FLOORS.slice(0, i).flat(),
  message: `${target} may import only from the floors below it (shared/STYLE.md, "Floors"); move the shared part down instead`
}))).filter(zone => zone.from.length > 0)

const internalZones = FOLDERS.map(folder => ({
  target: [...FLOORS.flat().filter(part => part !== folder), 'src/index.ts'],
  from: folder,
  except: ['./index.ts'],
  message: `import ${folder}/index.ts, not a file inside it: a subsystem's index.ts is its public surface`
}))

/** The package's entries are for users: nothing of ours imports them. */
const entryZone = {
  target: 'src',
  from: ['src/index.ts', 'src/testing.ts'],
  message: 'src/index.ts and src/testing.ts are the package\'s entries: import the module they re-export instead'
}

/**
 * The relative imports of every file under src/, type-only ones included (import-x/no-cycle
 * ignores those, but a type cycle ties two modules together just the same), read with
 * TypeScript's own pre-processor. Built once per lint run.
 */
let importGraph
function srcImportGraph () {
  if (importGraph != null) return importGraph
  importGraph = new Map()
  const root = path.join(import.meta.dirname, 'src')
  for (const file of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts') || generated.includes(`src/${file.replaceAll('\\', '/')}`)) continue
    const from = path.join(root, file)
    const info = ts.preProcessFile(readFileSync(from, 'utf8'), true, true)
    importGraph.set(from, info.importedFiles.map(f => f.fileName).filter(name => name.startsWith('.')).map(name => path.resolve(path.dirname(from), name)))
  }
  return importGraph
}

/** A path back to `start` through the import graph, if there is one (depth-first). */
function cycleThrough (start) {
  const graph = srcImportGraph()
  const seen = new Set()
  const walk = (file, trail) => {
    for (const next of graph.get(file) ?? []) {
      if (next === start) return [...trail, next]
      if (seen.has(next)) continue
      seen.add(next)
      const found = walk(next, [...trail, next])
      if (found != null) return found
    }
    return undefined
  }
  return walk(start, [start])
}

/** Our own rules. */
const house = {
  rules: {
    'no-import-cycle': {
      meta: { type: 'problem', schema: [], docs: { description: 'no module is part of an import cycle, type-only imports included' } },
      create (context) {
        return {
          Program (node) {
            const cycle = cycleThrough(context.filename)
            if (cycle == null) return
            const rel = cycle.map(file => path.relative(import.meta.dirname, file)).join(' → ')
            context.report({ node, message: `import cycle: ${rel}; move what both need into a module of its own` })
          }
        }
      }
    }
  }
}

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
    plugins: { house },
    rules: {
      // bit operations are rare in the product and each one says so with a disable comment
      'no-bitwise': 'error',
      // no two modules import each other, through any number of steps, not even for types
      'house/no-import-cycle': 'error',
      // the floors hold, and subsystems meet only through their index.ts
      'import-x/no-restricted-paths': ['error', { zones: [...floorZones, ...internalZones, entryZone] }]
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
