# Runs at install time (packaging/CMakeLists.txt): writes the systemd unit for the final prefix, and installs the
# config file unless one is there already (an upgrade keeps the operator's settings). DESTDIR applies to both, as to
# everything `cmake --install` writes; the paths inside the unit are the installed ones, without DESTDIR.
if(IS_ABSOLUTE "${BACKSIDE_SYSCONFDIR}")
  set(config_dir "${BACKSIDE_SYSCONFDIR}/backside")
elseif(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(config_dir "/etc/backside")  # as GNUInstallDirs has it: /usr's configuration lives in /etc
else()
  set(config_dir "${CMAKE_INSTALL_PREFIX}/${BACKSIDE_SYSCONFDIR}/backside")
endif()
set(BACKSIDE_INSTALLED_BINARY "${CMAKE_INSTALL_PREFIX}/${BACKSIDE_BINDIR}/backside")
set(BACKSIDE_CONFIG_FILE "${config_dir}/backside.json")
configure_file("${BACKSIDE_PACKAGING_DIR}/systemd/backside.service.in" "${BACKSIDE_STAGING_DIR}/backside.service" @ONLY)
file(INSTALL "${BACKSIDE_STAGING_DIR}/backside.service" DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
if(EXISTS "$ENV{DESTDIR}${BACKSIDE_CONFIG_FILE}")
  message(STATUS "Kept: $ENV{DESTDIR}${BACKSIDE_CONFIG_FILE}")
else()
  file(INSTALL "${BACKSIDE_PACKAGING_DIR}/backside.json" DESTINATION "${config_dir}")
endif()
