// Optimizer updates in place, in float64 exactly as the js backend writes them (src/backend/js/
// adam-update.ts, sgd-update.ts): the same operations in the same order, so results match it bit
// for bit. Parameters come as a table of pointers: table[5 t .. 5 t + 4] = p, g, m (or velocity),
// v, length of parameter t.
#include "kernels.h"

EXPORT(adam_update)
void adam_update(const i32 *table, i32 count, double step_size, double l2, double decay, double beta1, double beta2,
                 double epsilon) {
  for (i32 t = 0; t < count; t++) {
    float *p = (float *)table[5 * t], *m = (float *)table[5 * t + 2], *v = (float *)table[5 * t + 3];
    const float *g = (const float *)table[5 * t + 1];
    const i32 length = table[5 * t + 4];
    for (i32 i = 0; i < length; i++) {
      const double pi = p[i];
      const double gi = (double)g[i] + l2 * pi;
      const double mi = beta1 * (double)m[i] + (1 - beta1) * gi;
      const double vi = beta2 * (double)v[i] + (1 - beta2) * gi * gi;
      m[i] = (float)mi;
      v[i] = (float)vi;
      p[i] = (float)(pi * decay - (step_size * mi) / (__builtin_sqrt(vi) + epsilon));
    }
  }
}

EXPORT(sgd_update)
void sgd_update(const i32 *table, i32 count, double lr, double momentum, i32 nesterov, double weight_decay) {
  for (i32 t = 0; t < count; t++) {
    float *p = (float *)table[5 * t], *vel = (float *)table[5 * t + 2];
    const float *g = (const float *)table[5 * t + 1];
    const i32 length = table[5 * t + 4];
    if (momentum == 0) {
      for (i32 i = 0; i < length; i++) {
        const double pi = p[i];
        p[i] = (float)(pi - lr * ((double)g[i] + weight_decay * pi));
      }
      continue;
    }
    for (i32 i = 0; i < length; i++) {
      const double pi = p[i];
      const double step = lr * ((double)g[i] + weight_decay * pi);
      const double vi = momentum * (double)vel[i] - step;
      vel[i] = (float)vi;
      p[i] = (float)(nesterov ? pi + momentum * vi - step : pi + vi);
    }
  }
}
