/* mnsim: micro-needling simulator and treatment planner. Umbrella header of libmnsim. */
#ifndef MNSIM_H
#define MNSIM_H

#include "mnsim/core.h"
#include "mnsim/device.h"
#include "mnsim/grid.h"
#include "mnsim/healing.h"
#include "mnsim/injury.h"
#include "mnsim/io.h"
#include "mnsim/lumped.h"
#include "mnsim/course.h"
#include "mnsim/infer.h"
#include "mnsim/outcome.h"
#include "mnsim/plan.h"
#include "mnsim/report.h"
#include "mnsim/skin.h"

#endif /* MNSIM_H */
