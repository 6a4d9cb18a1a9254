import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createStaticHasher } from '../src/index';

describe('createStaticHasher()', () => {
  it('gives a URL that changes with the content after invalidate()', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'static-hash-'));
    try {
      fs.writeFileSync(path.join(root, 'app.js'), 'one');
      const hasher = await createStaticHasher({ root });
      const first = hasher.url('app.js');
      expect(first).toMatch(/^\/static\/app\.js\?v=[0-9a-f]{12}$/);
      fs.writeFileSync(path.join(root, 'app.js'), 'two');
      expect(hasher.url('app.js')).toBe(first);
      hasher.invalidate();
      expect(hasher.url('app.js')).not.toBe(first);
      await hasher.close();
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
