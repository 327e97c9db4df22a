export {
  type Blocker,
  explainWait,
  MAX_BLOCKERS,
  type SchedulerWaitRule,
  type WaitExplanation,
} from './explain.js';
export { Fifo } from './fifo.js';
export { OrderList, type OrderNode } from './order-list.js';
export {
  type Condition,
  type ConditionalRule,
  classicPolicy,
  groupsCompatible,
  type Policy,
  type RequestView,
} from './policy.js';
export {
  type GroupStats,
  RequestState,
  requestStateNames,
  SchedRequest,
  type Schedulable,
  Scheduler,
  type SchedulerHost,
  type SchedulerStats,
} from './scheduler.js';
