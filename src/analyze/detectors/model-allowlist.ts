import type {Config} from '../../config/schema.js'
import type {Finding} from '../report.js'
import type {Observation} from '../observation.js'
import {type Detector, GlobSet, slug, Tally} from './detector.js'

type Settings = Config['analyze']['models']

/** Requests for models outside the allow-list (details.model); off when the list is empty. */
export class ModelAllowListDetector implements Detector {
  readonly id = 'model-allowlist'
  private readonly allowed: GlobSet
  private readonly outside = new Map<string, Tally>()

  constructor(settings: Settings) {
    this.allowed = new GlobSet(settings.allowed)
  }

  observe(o: Observation): void {
    if (o.baseline || o.model === undefined || this.allowed.empty || this.allowed.has(o.model)) return
    let tally = this.outside.get(o.model)
    if (!tally) this.outside.set(o.model, (tally = new Tally()))
    tally.add(o)
  }

  findings(): Finding[] {
    return [...this.outside].map(([model, tally]) => ({
      id: `model-allowlist:${slug(model)}`,
      source: this.id,
      title: `Model outside the allow-list: ${model} (${tally.count} requests)`,
      severity: 'medium' as const,
      category: 'security' as const,
      ...tally.fields(),
      explanation: `${tally.count} request(s) named the model ${model}, which analyze.models.allowed does not list.`,
      recommendation: `Remove ${model} from the server or add it to the allow-list; ask ${[...tally.actors].slice(0, 3).join(', ')} why it was used.`,
    }))
  }
}
