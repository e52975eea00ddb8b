export { tuneCamera, progressQuery, approvalSignal } from './tune-camera.js';
export type { TuneInput, ApprovalDecision } from './tune-camera.js';
export { scheduledTune } from './scheduled-tune.js';
