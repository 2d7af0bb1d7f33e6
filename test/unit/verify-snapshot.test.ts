import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {closeAll, openSnapshot} from '../../src/integrity/verify/snapshot.js'
import {DirectoryLock, LOCK_NAME} from '../../src/store/lock.js'
import {tempDir} from '../helpers.js'
import {logAt} from '../library-setup.js'

/** Resolves to true when `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  const settled = await Promise.race([promise.then(() => true), timeout])
  clearTimeout(timer)
  return settled
}

describe('verify snapshot of a directory that will not hold still', () => {
  it('after its tries, lists and opens under the writers lock, and releases it', async () => {
    const dir = tempDir('snapshot-lock-')
    await logAt(dir, 0, 'a.one')
    await logAt(dir, 1, 'a.two')
    // A writer mid-batch (or mid-rotation) holds the lock: the snapshot must wait for it.
    const writer = new DirectoryLock(dir)
    assert.ok(writer.tryAcquire())
    const snapshot = openSnapshot(dir, 0)
    assert.equal(await settlesWithin(snapshot, 300), false, 'listed while a writer held the lock')
    writer.release()
    const files = await snapshot
    assert.equal(files.length, 2)
    assert.ok(files.every((f) => f.handle !== undefined && f.error === undefined))
    await closeAll(files)
    assert.equal(existsSync(join(dir, LOCK_NAME)), false, 'the snapshot left the lock behind')
    // The lock is free again for the next writer.
    const next = new DirectoryLock(dir)
    assert.ok(next.tryAcquire())
    next.release()
  })

  it('verifies the last listing as it is when the lock is not given up in time', async () => {
    const dir = tempDir('snapshot-stuck-')
    await logAt(dir, 0, 'a.one')
    const stuck = new DirectoryLock(dir)
    assert.ok(stuck.tryAcquire())
    try {
      const files = await openSnapshot(dir, 0)
      assert.equal(files.length, 1)
      assert.ok(files[0].handle)
      await closeAll(files)
      // Still the stuck holder's lock: the snapshot did not break or remove it.
      assert.equal(stuck.tryAcquire(), false)
      assert.ok(existsSync(join(dir, LOCK_NAME)))
    } finally {
      stuck.release()
    }
  })
})
