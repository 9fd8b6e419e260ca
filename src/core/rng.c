/* Seeded, reproducible random numbers: xoshiro256** (Blackman & Vigna 2018, "Scrambled linear
 * pseudorandom number generators") seeded through splitmix64. Same (seed, stream) -> same integer
 * sequence on every build and platform, and uniforms are exact scalings of it. Pipeline: core;
 * streams for jitter and depths (device), coverage, unit-cell sites, Latin hypercubes (infer). */
#include <math.h>

#include "mnsim/core.h"

/* SplitMix64 (Steele, Lea & Flood 2014), the seeder Vigna recommends for xoshiro: a Weyl
 * sequence through a strong mixer, so even seeds 0, 1, 2 give unrelated, well-mixed states. */
static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

void mn_rng_init(mn_rng *r, uint64_t seed, uint64_t stream) {
  /* Mix the stream through splitmix64 first so streams 0,1,2.. start far apart. */
  uint64_t sm = stream;
  uint64_t x = seed ^ splitmix64(&sm);
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
  if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1; /* the all-zero state is absorbing */
}

/* One step of xoshiro256** 1.0, as Vigna's reference xoshiro256starstar.c. */
uint64_t mn_rng_u64(mn_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* The top 53 bits scaled by 2^-53: a multiple of 2^-53 in [0, 1), never 1. */
double mn_rng_uniform(mn_rng *r) {
  return (double)(mn_rng_u64(r) >> 11) * 0x1.0p-53;
}

/* Marsaglia's polar method. Its second variate (v times the same factor) is discarded, so the
 * generator carries no cached value and its state stays the four words of xoshiro. s = 0 is
 * refused for the log. */
double mn_rng_normal(mn_rng *r) {
  double u, v, s;
  do {
    u = 2.0 * mn_rng_uniform(r) - 1.0;
    v = 2.0 * mn_rng_uniform(r) - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  return u * sqrt(-2.0 * log(s) / s);
}
