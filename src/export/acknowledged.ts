import {basename} from 'node:path'

import type {LocatedEntry} from '../events/model.js'
import {Diagnostics} from '../store/diagnostics.js'
import type {LogFile} from '../store/files.js'
import {decodeFile, type ReadFileOptions, type ReadOptions} from '../store/reader.js'
import type {Position} from './parallel.js'
import {type ExportState, stateAt, stateOf} from './state.js'

interface Block {
  /** The index of its first record in the export. */
  start: number
  count: number
  first: Position
  last: Position
}

/**
 * How far an acknowledging sink that takes blocks of records (Elasticsearch `_bulk` fed by the
 * encoding threads) has confirmed, as a --since-last state. Only a block's first and last entries
 * are known, so the blocks are kept until the sink confirms them whole (memory bounded by what is
 * unconfirmed), and the state inside a block confirmed in part, which only a failure leaves, is
 * found by reading its file again up to the last entry confirmed.
 */
export class AcknowledgedBlocks {
  private blocks: Block[] = []
  private confirmed: Position | undefined

  constructor(
    private readonly files: LogFile[],
    private readonly read: ReadOptions,
    private readonly needles: ReadFileOptions['needles'],
  ) {}

  /** `count` records from `start` on, all from `first.file`. */
  add(start: number, count: number, first: Position, last: Position): void {
    this.blocks.push({start, count, first, last})
  }

  /** Lets go of the blocks the sink confirmed whole. */
  settle(acknowledged: number): void {
    while (this.blocks.length > 0 && this.blocks[0].start + this.blocks[0].count <= acknowledged) this.confirmed = this.blocks.shift()!.last
  }

  /** The state after the last record the sink confirmed; undefined when it confirmed none. */
  async state(acknowledged: number): Promise<ExportState | undefined> {
    this.settle(acknowledged)
    const block = this.blocks[0]
    if (block === undefined || block.start >= acknowledged) return this.confirmed && stateAt(this.confirmed)
    const located = await this.entryOf(block, acknowledged - block.start)
    return stateOf(located)
  }

  /** The nth (from 1) entry of a block, read again as the export read it. */
  private async entryOf(block: Block, nth: number): Promise<LocatedEntry> {
    const file = this.files.find((f) => basename(f.path) === block.first.file)
    if (file) {
      let seen = 0
      for await (const batch of decodeFile(file, this.read, new Diagnostics(), {needles: this.needles})) {
        for (const located of batch) {
          if (located.line < block.first.line) continue
          if (++seen === nth) return located
        }
      }
    }
    throw new Error(`export state: entry ${nth} of the block from ${block.first.file}:${block.first.line} is gone`)
  }
}
