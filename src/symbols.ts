/** Brands that mark library objects; a property read tells a future or an active reference apart. */

/** On a future (a Proxy): returns its `FutureCore`. */
export const FUTURE_CORE: unique symbol = Symbol('multiactive.future');
/** On an active reference (a stub): returns its `ActiveObject`. */
export const ACTIVE_OBJECT: unique symbol = Symbol('multiactive.active');
