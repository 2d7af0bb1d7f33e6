import {checkWriteInput, type WriteInput, WriteInputError} from '../events/write-input.js'
import type {EventSink} from './event-sink.js'

/**
 * Events are gathered this long and handed to the writer thread together (one message, one batch).
 * Each batch costs the writer a lock and a write(2) whatever its size: at 5 ms a lightly loaded proxy
 * paid that per request (about 1 ms of writer CPU each, bench/proxy.ts); 20 ms cut it to a third.
 */
const HAND_OVER_MS = 20

/**
 * The bounded buffer between the proxy and the disk. Requests never wait for their events: the
 * events of a few milliseconds go to the sink together (the writer appends them as one
 * batch) and the proxied bytes flow on. What bounds memory, and tells of a slow or stalled disk, is
 * the number of events not yet written: a request is admitted only if the events it may write (its
 * reservation) still fit, so an admitted request's events are never dropped for lack of room, and a
 * request that does not fit is refused (503) instead of going unaudited.
 */
export class EventBuffer {
  /** Events handed over but not yet written, plus slots reserved by admitted requests. */
  private used = 0
  private queued: WriteInput[] = []
  private readonly batches = new Set<Promise<void>>()
  /** Requests refused since the last time that was recorded. */
  private refused = 0
  failures = 0

  constructor(
    private readonly sink: EventSink,
    readonly capacity: number,
    private readonly onFailure: (message: string, input: WriteInput) => void,
  ) {}

  get pending(): number {
    return this.used
  }

  /** Reserves `slots` events for a request: undefined (and the refusal counted) when they do not fit. */
  reserve(slots: number): Reservation | undefined {
    if (this.used + slots > this.capacity) {
      this.refused++
      return undefined
    }
    this.used += slots
    return new Reservation(this, slots)
  }

  /** The refusals counted since the last call (to record them once there is room again). */
  takeRefused(): number {
    const n = this.refused
    this.refused = 0
    return n
  }

  /**
   * Writes an event outside any reservation: the proxy's own few events (start, stop, errors),
   * which must not be refused when requests are. They count against the bound all the same.
   */
  write(input: WriteInput): void {
    this.used++
    this.send(input)
  }

  /**
   * Called by a Reservation: the slot is already counted in `used`. Checked here, so the sink gets
   * only valid input and a bad event is reported now, with the input (and request) it came from.
   */
  send(input: WriteInput): void {
    let checked: WriteInput
    try {
      checked = checkWriteInput(input)
    } catch (error) {
      if (!(error instanceof WriteInputError)) throw error
      this.used--
      this.failures++
      this.onFailure(error.message, input)
      return
    }
    this.queued.push(checked)
    if (this.queued.length === 1) setTimeout(() => this.handOver(), HAND_OVER_MS)
  }

  release(slots: number): void {
    this.used -= slots
  }

  private handOver(): void {
    const events = this.queued
    this.queued = []
    if (events.length === 0) return
    const batch = this.sink
      .write(events)
      .then((failures) => {
        failures.forEach((failure, i) => {
          if (failure === null) return
          this.failures++
          this.onFailure(failure, events[i])
        })
      })
      .finally(() => {
        this.used -= events.length
        this.batches.delete(batch)
      })
    this.batches.add(batch)
  }

  /** Resolves once every event handed over so far is written (or failed and was reported). */
  async flush(): Promise<void> {
    this.handOver()
    while (this.batches.size > 0) await Promise.all([...this.batches])
  }
}

/** The event slots one request holds: each write uses one; the rest go back when the request ends. */
export class Reservation {
  constructor(
    private readonly buffer: EventBuffer,
    private slots: number,
  ) {}

  write(input: WriteInput): void {
    if (this.slots === 0) {
      // More events than reserved (a bug, not a user's doing): still written, never dropped.
      this.buffer.write(input)
      return
    }
    this.slots--
    this.buffer.send(input)
  }

  release(): void {
    this.buffer.release(this.slots)
    this.slots = 0
  }
}
