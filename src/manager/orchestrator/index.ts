// The orchestrators' public surface: the loop the leadership component starts and stops, the
// "is this task outdated" check, and the pure cores with the pieces they are built from.

export { Orchestrator, type OrchestratorOptions } from './orchestrator.js';
export { isSlotDirty, isTaskDirty } from './dirty.js';
export type { OrchestratorAction, PendingStart } from './actions.js';
export { applyActions } from './apply.js';
export { orchestrate, reconcileService, type ReconcileScope } from './orchestrate.js';
export { snapshotOf, snapshotOfReadTx, type ReconcileContext, type Snapshot } from './snapshot.js';
export type { Slot } from './slots.js';
export { replicatedSlots } from './replicated/reconcile.js';
export { globalSlots } from './global/reconcile.js';
export { superviseUpdate } from './update/supervisor.js';
export type { DispatchedSlot, Rollout } from './update/rollout.js';
export { resolveConfig, rolloutConfig, type RolloutConfig, type RolloutKind } from './update/config.js';
export { newTask, type OrchestratedTask } from './new-task.js';
export { WAIT_FOR_STOP_MS } from './restart/delayed-start.js';
export { DEFAULT_RESTART_DELAY_MS } from './restart/policy.js';
export { DEFAULT_TASK_HISTORY_LIMIT } from './task-reaper.js';
