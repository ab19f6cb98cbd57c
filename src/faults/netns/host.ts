/**
 * What one process knows of the labs on its machine: how many it made (the default prefix and
 * subnet of the next), the defaulted subnets its live labs hold, and the result of probing the
 * machine. One object per process by default, so that several test nets in one process never
 * pick the same names; a test may pass its own.
 */

import { probeOnce } from './probe.ts'
import type { Probe } from './probe.ts'

/** The labs of one process and what it found about the machine. */
export class NetnsHost {
  private labsMade = 0
  private readonly subnetsInUse = new Set<string>()
  /** only a success is kept: a failure may be fixed (a package installed) while we run */
  private probed?: Promise<Probe>
  private probes = 0

  /** The sequence number of the next lab, counting it as made. */
  nextSequence (): number {
    return this.labsMade++
  }

  /** Whether a lab of this process holds the /24 `base`.0. */
  holds (base: string): boolean {
    return this.subnetsInUse.has(base)
  }

  /** Marks the /24 `base`.0 as held by a lab of this process. */
  claim (base: string): void {
    this.subnetsInUse.add(base)
  }

  /** Frees the /24 `base`.0. */
  release (base: string): void {
    this.subnetsInUse.delete(base)
  }

  /** Probes the machine, or answers with the last success. */
  async probe (): Promise<Probe> {
    this.probed ??= probeOnce(`p2pstore-probe-${process.pid}-${this.probes++}`).then(found => {
      if (!found.ok) {
        this.probed = undefined
      }
      return found
    })
    return this.probed
  }
}

/** The labs of this process. */
export const PROCESS_HOST = new NetnsHost()
