/**
 * multiactive: active objects that serve several requests at once when, and only when,
 * their classes declare it safe. The package entry.
 * @module multiactive
 */
import '../decorators/metadata.js';
import './debug-env.js';

export type { AbstractClass } from '../decorators/declarations.js';
export type { MultiactiveClassDecorator, MultiactiveMethodDecorator } from '../decorators/decorators.js';
export type { MethodName } from '../decorators/define.js';
export type { DecoratorName } from '../decorators/errors.js';
export {
  type ActiveSpec,
  Alone,
  Checkpoint,
  type CheckpointOptions,
  Compatible,
  type CompatibleSpec,
  defineActive,
  Group,
  type GroupOptions,
  MemberOf,
  Priority,
  ThreadConfig,
  type ThreadConfigOptions,
} from '../decorators/index.js';
export type { Condition, RequestView } from '../scheduler/index.js';
// Types that public signatures name: exported so that users (and the API reference) can name them.
export type { GroupStats } from '../scheduler/scheduler.js';
export {
  isActive,
  type NewActiveArgs,
  type NewActiveOptions,
  newActive,
  type ShutdownOptions,
  selfRef,
  shutdown,
  type TerminateOptions,
  terminate,
} from './active.js';
export type { CheckpointInfo } from './checkpoint/checkpoints.js';
export {
  type CheckpointStore,
  FileStore,
  MemoryStore,
  type StoredCheckpoint,
} from './checkpoint/store.js';
export { type Control, control, type ObjectStats, waitFor } from './control.js';
export {
  ArgumentError,
  CheckpointError,
  ConstructionError,
  CopyError,
  DeadlockError,
  DefinitionError,
  JournalFullError,
  MultiactiveError,
  NodeLostError,
  QuarantineError,
  RemoteError,
  TerminatedError,
} from './errors.js';
export {
  type EventListener,
  type EventOptions,
  type MultiactiveEvent,
  type MultiactiveEventType,
  type NodeId,
  onEvent,
  type RequestEvents,
  type RequestRef,
} from './events.js';
export { Future } from './future-api.js';
export {
  createWorkerNode,
  mainNode,
  type NodeHandle,
  type Placement,
  type WorkerNode,
  type WorkerNodeOptions,
  workerNodes,
} from './node/placement.js';
export type {
  Deadlock,
  DeadlockStep,
  GroupUsage,
  ObjectSnapshot,
  PolicySummary,
  WaitEdge,
  WaitGraph,
  WaitingRequest,
  WaitNode,
  WaitRule,
  WaitState,
} from './shapes.js';
export type {
  Active,
  FieldNotReachable,
  FutureMethods,
  FutureOr,
  Pipelined,
  ReservedFutureKey,
} from './types.js';
export { configureDeadlocks, type DeadlockOptions, findDeadlocks, waitGraph } from './waits.js';
