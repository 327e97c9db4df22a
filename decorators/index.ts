/**
 * Declare active classes: `@Group`, `@MemberOf`, `@Compatible`, `@Priority`, `@ThreadConfig`,
 * `@Checkpoint`, and `compilePolicy`, which turns the declarations into the scheduler's
 * `Policy` (`checkpointConfig` reads `@Checkpoint`, which is not part of it).
 * See docs/decorators.md.
 */
// First: the Symbol.metadata polyfill must be installed before any decorated class is evaluated.
import './metadata.js';

export type { Condition, RequestView } from '../scheduler/policy.js';
export {
  type CheckpointConfig,
  checkpointConfig,
  compilePolicy,
  RESERVATION_MARGIN,
  UNGROUPED_WARNING,
} from './compile.js';
export { type AbstractClass, GROUP_DEFAULTS, THREAD_CONFIG_DEFAULTS } from './declarations.js';
export {
  Alone,
  Checkpoint,
  type CheckpointOptions,
  Compatible,
  Group,
  type GroupOptions,
  MemberOf,
  type MultiactiveClassDecorator,
  type MultiactiveMethodDecorator,
  Priority,
  ThreadConfig,
  type ThreadConfigOptions,
} from './decorators.js';
export { type ActiveSpec, type CompatibleSpec, defineActive, type MethodName } from './define.js';
export { type DecoratorName, DefinitionError, MultiactiveError } from './errors.js';
export { originOf } from './origin.js';
export {
  type CheckpointMetadata,
  type CompatibleMetadata,
  type GroupMetadata,
  type PriorityMetadata,
  REFLECT_METADATA_KEYS,
  type ThreadConfigMetadata,
} from './reflect-keys.js';
