import type {Config} from '../../config/schema.js'
import type {VerifyProblem} from '../../integrity/verify/index.js'
import type {Diagnostics} from '../../store/diagnostics.js'
import {BruteForceDetector} from './brute-force.js'
import type {Detector} from './detector.js'
import {ErrorSpikeDetector} from './error-spike.js'
import {FirstSeenDetector} from './first-seen.js'
import {IntegrityDetector} from './integrity.js'
import {ModelAllowListDetector} from './model-allowlist.js'
import {OffHoursDetector} from './off-hours.js'
import {RateSpikeDetector} from './rate-spike.js'
import {SilenceDetector} from './silence.js'

/** Every detector, set up from the `analyze` config; the integrity one only for an audit log directory. */
export function makeDetectors(
  settings: Config['analyze'],
  options: {dir?: string; diagnostics: Diagnostics; verified?: Promise<VerifyProblem[] | Error>},
): Detector[] {
  const detectors: Detector[] = [
    new BruteForceDetector(settings.brute_force),
    new RateSpikeDetector(settings.rate_spike),
    new ErrorSpikeDetector(settings.error_spike),
    new OffHoursDetector(settings.off_hours),
    new FirstSeenDetector(settings.first_seen),
    new ModelAllowListDetector(settings.models),
    new SilenceDetector(settings.silence),
  ]
  if (settings.integrity.enabled) detectors.push(new IntegrityDetector(options.dir, options.diagnostics, options.verified))
  return detectors
}
