#ifndef LAVA_RUNNER_CYAML_SHIM_H
#define LAVA_RUNNER_CYAML_SHIM_H
#include <yaml.h>
#endif
