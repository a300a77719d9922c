import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { IdleRelease } from './idle-release.js';

describe('IdleRelease', () => {
  it('releases once after start-up, and once per quiet spell after work', async () => {
    let n = 0;
    const r = new IdleRelease(() => { n++; }, { quietMs: 40 });
    try {
      await sleep(150);
      assert.equal(n, 1, 'the start-up release');
      await sleep(150);
      assert.equal(n, 1, 'an idle daemon is not released again');
      r.touch();
      await sleep(150);
      assert.equal(n, 2, 'a release after the work went quiet');
    } finally {
      r.close();
    }
  });

  it('does not release while requests keep coming', async () => {
    let n = 0;
    const r = new IdleRelease(() => { n++; }, { quietMs: 80 });
    try {
      for (let i = 0; i < 8; i++) {
        r.touch();
        await sleep(20);
      }
      assert.equal(n, 0);
      await sleep(250);
      assert.equal(n, 1);
    } finally {
      r.close();
    }
  });
});
