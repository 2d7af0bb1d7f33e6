import {json, type Step, startFake} from './http-base.js'

/**
 * Splunk HEC as its documentation describes it: POST /services/collector/event with
 * `Authorization: Splunk <token>`; events concatenated; `{"text":"Success","code":0}`; a missing
 * token is 401 code 2, a wrong one 403 code 4, no data 400 code 5, a bad event 400 code 6. With
 * `acks`, each answer has an `ackId` and POST /services/collector/ack (channel header required)
 * reports it indexed after `ackAfterPolls` polls.
 */
export async function startSplunk(options: {token: string; script?: Step[]; acks?: boolean; ackAfterPolls?: number}) {
  const events: Array<Record<string, unknown>> = []
  const pending = new Map<number, {polls: number; batch: Array<Record<string, unknown>>}>()
  let nextAck = 0
  const fake = await startFake((req, res) => {
    const path = req.path.split('?')[0]
    const auth = req.headers.authorization
    if (!auth) return json(res, 401, {text: 'Token is required', code: 2})
    if (auth !== `Splunk ${options.token}`) return json(res, 403, {text: 'Invalid token', code: 4})
    if (options.acks && !req.headers['x-splunk-request-channel']) return json(res, 400, {text: 'Data channel is missing', code: 10})
    if (path === '/services/collector/ack') {
      const {acks} = JSON.parse(req.body) as {acks: number[]}
      const answer: Record<string, boolean> = {}
      for (const id of acks) {
        const entry = pending.get(id)
        if (!entry) {
          answer[id] = false
          continue
        }
        entry.polls++
        answer[id] = entry.polls >= (options.ackAfterPolls ?? 1)
        if (answer[id]) {
          events.push(...entry.batch)
          pending.delete(id)
        }
      }
      return json(res, 200, {acks: answer})
    }
    if (path !== '/services/collector/event' && path !== '/services/collector')
      return json(res, 404, {text: 'The requested URL was not found on this server.', code: 404})
    if (req.body.trim() === '') return json(res, 400, {text: 'No data', code: 5})
    const batch: Array<Record<string, unknown>> = []
    for (const line of req.body.split('\n').filter((l) => l.trim() !== '')) {
      let event: Record<string, unknown>
      try {
        event = JSON.parse(line)
      } catch {
        return json(res, 400, {text: 'Invalid data format', code: 6, 'invalid-event-number': batch.length})
      }
      if (event.event === undefined)
        return json(res, 400, {text: 'Event field is required', code: 12, 'invalid-event-number': batch.length})
      batch.push(event)
    }
    if (options.acks) {
      const ackId = nextAck++
      pending.set(ackId, {polls: 0, batch})
      return json(res, 200, {text: 'Success', code: 0, ackId})
    }
    events.push(...batch)
    json(res, 200, {text: 'Success', code: 0})
  }, options.script)
  return {...fake, events}
}
