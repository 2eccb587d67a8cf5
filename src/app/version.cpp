#include "app/version.h"

namespace backside::app {

std::string_view version() { return BACKSIDE_VERSION; }

}  // namespace backside::app
