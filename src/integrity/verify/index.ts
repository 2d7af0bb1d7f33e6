/** Verification of a log directory: what the rest of auditkit uses of it. */
export {type VerifyOptions, verifyDirectory} from './directory.js'
export {count, type FileReport, type VerifyProblem, type VerifyProblemKind, type VerifyReport, VerifyError} from './report.js'
