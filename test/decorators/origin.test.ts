/** Decorated classes remember the module they are defined in (worker nodes import them from it). */
import { describe, expect, it } from 'vitest';
import { originOf } from '../../decorators/index.js';
import { Probe } from '../fixtures/origin-probe.js';

describe('class origin', () => {
  it('is the URL of the module that declares the class', () => {
    expect(originOf(Probe)).toMatch(/^file:\/\/\/.*\/test\/fixtures\/origin-probe\.ts$/);
  });
  it('is unknown for a class without class decorators', () => {
    class Plain {}
    expect(originOf(Plain)).toBeUndefined();
  });
});
