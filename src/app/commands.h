#pragma once
// The `backside` subcommands. Each returns the process exit code.
#include <string>

#include "app/config.h"

namespace backside::app {

int serve(const Config& config);
int export_database(const Config& config, const std::string& ns);
int import_database(const Config& config, const std::string& ns, const std::string& file);

}  // namespace backside::app
