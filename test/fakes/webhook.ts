/**
 * A loopback webhook receiver for Discord and Slack: records every POST (path and JSON body) and
 * answers as scripted: 204 (Discord) or 200 `ok` (Slack) by default, 429 with Retry-After, 500.
 */
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface WebhookReply {
  status: number
  retryAfter?: string
}

export interface ReceivedHook {
  path: string
  contentType?: string
  body: any
}

export class FakeWebhook {
  readonly received: ReceivedHook[] = []
  private readonly queue: WebhookReply[] = []
  private readonly server: Server
  private port = 0

  constructor(private readonly flavour: 'discord' | 'slack') {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = []
      for await (const c of req) chunks.push(c as Buffer)
      const text = Buffer.concat(chunks).toString('utf8')
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch {
        body = text
      }
      this.received.push({path: req.url ?? '/', contentType: req.headers['content-type'], body})
      const reply = this.queue.shift() ?? {status: this.flavour === 'discord' ? 204 : 200}
      if (reply.status === 429) {
        // Discord also says it in the body; Slack only in the header.
        res.writeHead(429, {'Retry-After': reply.retryAfter ?? '1', 'Content-Type': 'application/json'})
        res.end(
          this.flavour === 'discord'
            ? JSON.stringify({message: 'You are being rate limited.', retry_after: Number(reply.retryAfter ?? 1), global: false})
            : 'rate_limited',
        )
        return
      }
      if (reply.status >= 400) {
        res.writeHead(reply.status, {'Content-Type': 'text/plain'})
        res.end(this.flavour === 'slack' ? 'invalid_payload' : '{"message": "Invalid Webhook Token", "code": 50027}')
        return
      }
      res.writeHead(reply.status, this.flavour === 'slack' ? {'Content-Type': 'text/html'} : {})
      res.end(reply.status === 204 ? undefined : 'ok')
    })
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.port = (this.server.address() as AddressInfo).port
    return this
  }

  /** A URL shaped like the vendor's, with a secret token in its path. */
  get url(): string {
    return this.flavour === 'discord'
      ? `http://127.0.0.1:${this.port}/api/webhooks/123456/SECRET-discord-token`
      : `http://127.0.0.1:${this.port}/services/T000/B000/SECRETslacktoken`
  }

  reply(...replies: WebhookReply[]): this {
    this.queue.push(...replies)
    return this
  }

  close(): Promise<void> {
    this.server.closeAllConnections()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}
