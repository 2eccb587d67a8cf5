#pragma once
// The version of this build (the project's version in CMakeLists.txt): `backside --version`, backside_build_info.
#include <string_view>

namespace backside::app {

std::string_view version();

}  // namespace backside::app
