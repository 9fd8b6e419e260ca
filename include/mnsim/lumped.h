/* mnsim lumped: the well-mixed ODE twin of the healing model (research/models.md 8). Per layer
 * slab (viable epidermis, papillary and reticular dermis) a near zone around the punctures and a
 * far zone, the same reaction terms as the 3D model (mn_reaction_pl), exchange rates from
 * puncture spacing and diffusivity; stiff ODEs integrated with SUNDIALS CVODE (BDF).
 * Pipeline: after healing (uses core, skin, device, healing and its time series); driven by
 * course. */
#ifndef MNSIM_LUMPED_H
#define MNSIM_LUMPED_H

/* Pipeline order: an earlier stage must not include this header. */
#if defined(MN__BUILDING_CORE) || defined(MN__BUILDING_SKIN) || defined(MN__BUILDING_DEVICE) ||    \
    defined(MN__BUILDING_GRID) || defined(MN__BUILDING_INJURY) || defined(MN__BUILDING_HEALING) || \
    defined(MN__BUILDING_OUTCOME)
#error "mnsim/lumped.h is a later pipeline stage than the module being built"
#endif

#include "mnsim/core.h"
#include "mnsim/device.h"
#include "mnsim/healing.h"
#include "mnsim/skin.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Sizes of the lumped model. */
enum {
  MN_LUMPED_LAYERS = 3,
  MN_LUMPED_ZONES = 2,
  MN_LUMPED_MAX_SLABS = 16,
  MN_LUMPED_MAX_GROUPS = 8 /**< channel groups (passes of distinct depths) */
};

/** The channels of one session that share an effective depth (the passes set to one depth). */
typedef struct mn_lumped_group {
  double density_cm2; /**< channels per cm2 per session */
  double depth_um;    /**< effective channel depth */
} mn_lumped_group;

/** A run's state at a day after its last session: what a run of the same input with more
 *  sessions holds at that day, before its next session (the integrator stops at that day in both,
 *  and a session restarts it). mn_lumped_input.hold fills one; .resume starts a longer course
 *  from it, bit for bit as the run from day 0 would go on. Compact layout only
 *  (mn_lumped_params.compact = 1). Owns y: mn_lumped_hold_fini. */
typedef struct mn_lumped_hold {
  double t_day; /**< the day held (the next session's); 0: nothing held */
  int sessions; /**< sessions given before it */
  int ny;       /**< states */
  double *y;    /**< [ny] the state, unclamped, in the compact layout of na and w */
  int na;       /**< cohorts made */
  double w[MN_LUMPED_MAX_SLABS][MN_LUMPED_ZONES][MN_MAX_SESSIONS]; /**< cohort shares */
} mn_lumped_hold;
/** Free y and clear @p h (NULL-safe). */
void mn_lumped_hold_fini(mn_lumped_hold *h);

/** The treatment as the lumped model sees it. Pointers are borrowed for the call: they point
 *  into tables the caller owns, which must stay valid until mn_lumped_run returns. */
typedef struct mn_lumped_input {
  const mn_model_params *m; /**< healing parameters */
  int fitz;                 /**< Fitzpatrick type 1-6 */
  const mn_skin *skin;      /**< layer thicknesses and the plexus depth */
  const mn_device *dev;     /**< needle profile for the channel volume per layer */
  int n_groups;             /**< 1 to MN_LUMPED_MAX_GROUPS */
  mn_lumped_group group[MN_LUMPED_MAX_GROUPS];
  int sessions;                        /**< 1 to MN_MAX_SESSIONS */
  double session_day[MN_MAX_SESSIONS]; /**< day of each session, increasing, from 0 */
  double t_end;                        /**< last day */
  const double *samples; /**< [nsamples] sample days (increasing, within [0, t_end]) */
  int nsamples;
  double uv; /**< daily UV dose, SED/day (mn_uv_factor); 0 = no sun */
  /** NULL, or a state held by a run of this input with fewer sessions (everything else the
   *  same): the run starts there, giving sessions from resume->sessions on and recording the
   *  samples from resume->t_day on (the earlier ones are the holding run's) */
  const mn_lumped_hold *resume;
  /** NULL, or where to hold the state at day hold_day, after the last session and before t_end:
   *  the integrator stops there, as a longer course's does for its next session */
  mn_lumped_hold *hold;
  double hold_day;
} mn_lumped_input;

/** Numerical settings (no case-file keys: course uses the defaults). */
typedef struct mn_lumped_params {
  double slab_um;    /**< thickest slab: layers are cut into slabs of at most this (um); slabs
                          beyond MN_LUMPED_MAX_SLABS in all are silently left out */
  double rn_factor;  /**< near-zone radius r_n = min(b, a + rn_factor L), L = sqrt(D_P / k_P) */
  double rtol, atol; /**< CVODE's relative and absolute tolerances */
  int cohorts;       /**< 1: each session's lumen keeps its own matrix (C3, C1, E) as a cohort of
                          its zone; 0: the lumen mixes into the near zone at once */
  int compact;       /**< 1: only the cohorts that hold volume are states, CVODE and KLU made
                          again at each session (the same equations, a smaller system: the
                          planner's); 0: every cohort of every zone from day 0 (the layout the
                          shipped calibration ran with, so that it reproduces byte for byte) */
} mn_lumped_params;
/** Defaults: slab_um 200, rn_factor 0.2 as fitted against the 3D model (docs/model.md), rtol
 *  1e-5, atol 1e-8, cohorts 1, compact 0. */
void mn_lumped_params_default(mn_lumped_params *p);

/** Geometry derived from the input (for reports and tests). Plain data. */
typedef struct mn_lumped_geometry {
  double b_um;                       /**< radius of the cell around one channel, 1 / sqrt(pi n) */
  double a_um;                       /**< channel radius (area-equivalent over the channel) */
  double rn_um;                      /**< near-zone radius */
  double phi;                        /**< near-zone volume fraction */
  int slabs;                         /**< slabs the three layers were cut into */
  double f_inj[MN_LUMPED_MAX_SLABS]; /**< displaced volume fraction per slab and session */
  double f_lum[MN_LUMPED_MAX_SLABS]; /**< lumen volume fraction per slab and session */
  int bleeding;                      /**< channels reach the subpapillary plexus */
  long steps;                        /**< CVODE steps taken (since the last session) */
  int states;                        /**< states CVODE integrated after the last session */
} mn_lumped_geometry;

/** Run the lumped model of @p in with numerical settings @p lp and append one sample per input
 *  sample day to @p ts (which must have room for them: mn_timeseries_init). Layer means are
 *  phi u_near + (1 - phi) u_far; SC gets the epidermal d. @p geo (may be NULL) receives the
 *  geometry and the step count (also when a run that passed the input check fails). Only the
 *  channel groups and the session count are checked; the rest of @p in is trusted. Thread-safe for
 * distinct @p ts.
 *  @return MN_OK; MN_EINPUT for groups or sessions out of range; MN_ENUMERIC when CVODE fails
 *  (the message gives the day); MN_EINTERNAL when CVODE cannot be set up or @p ts is full;
 *  MN_ENOMEM. */
int mn_lumped_run(const mn_lumped_input *in, const mn_lumped_params *lp, mn_timeseries *ts,
                  mn_lumped_geometry *geo, mn_error *err);
/** Lumped runs started by this process so far (every thread; for throughput figures). */
long mn_lumped_run_count(void);

#ifdef __cplusplus
}
#endif
#endif /* MNSIM_LUMPED_H */
