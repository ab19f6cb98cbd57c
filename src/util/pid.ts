/**
 * Whether a process with this pid exists (signal 0 checks without signalling). `EPERM` counts as
 * alive: the process exists but is not ours to signal.
 */
export function isAlive (pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
