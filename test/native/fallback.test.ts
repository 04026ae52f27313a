// MNIST_LAB_NO_NATIVE=1 hides the addon: the backend reports unavailable with a reason, and
// creating it fails with that reason instead of crashing at import time.
import assert from 'node:assert/strict';
import { it } from 'node:test';

it('MNIST_LAB_NO_NATIVE=1 makes the native backend unavailable, with a reason', async () => {
  const previous = process.env.MNIST_LAB_NO_NATIVE;
  process.env.MNIST_LAB_NO_NATIVE = '1';
  try {
    const { createNativeBackend, nativeBackendAvailable } = await import('../../src/backend/native/index.js');
    const availability = nativeBackendAvailable();
    assert.equal(availability.available, false);
    assert.match(availability.reason ?? '', /MNIST_LAB_NO_NATIVE=1/);
    assert.throws(() => createNativeBackend(), /native backend unavailable: .*MNIST_LAB_NO_NATIVE=1/);
  } finally {
    if (previous === undefined) delete process.env.MNIST_LAB_NO_NATIVE;
    else process.env.MNIST_LAB_NO_NATIVE = previous;
  }
});

it('a missing addon is reported with the install hint, not thrown', async () => {
  const { loadAddon, addonPath } = await import('../../src/backend/native/binding.js');
  const load = loadAddon();
  if (load.addon) {
    assert.ok(addonPath.endsWith('mnist_lab_native.node'));
    assert.equal(typeof load.addon.version(), 'string');
  } else {
    assert.match(load.reason, /libdnnl-dev|MNIST_LAB_NO_NATIVE/);
  }
});
