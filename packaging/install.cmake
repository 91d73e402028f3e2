# Run by `cmake --install` (see CMakeLists.txt): writes the systemd unit with
# the installed paths and installs the example config as the live config
# unless one is there. CMAKE_INSTALL_PREFIX is the prefix of this install
# (--prefix); file(INSTALL) puts DESTDIR, when set, in front of the paths it
# writes, and the files name the paths without it.

# A path under the prefix, as GNUInstallDirs makes it: an absolute directory
# stays; etc/ under /usr is /etc.
function(arb_full out rel)
  if(IS_ABSOLUTE "${rel}")
    set(${out} "${rel}" PARENT_SCOPE)
  elseif(rel STREQUAL "etc" AND CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(${out} "/etc" PARENT_SCOPE)
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${rel}" PARENT_SCOPE)
  endif()
endfunction()

arb_full(ARB_BINDIR "${ARB_BINDIR_REL}")
arb_full(sysconfdir "${ARB_SYSCONFDIR_REL}")
arb_full(unitdir "${ARB_SYSTEMD_UNIT_DIR}")
set(ARB_CONFIG_FILE "${sysconfdir}/arbor/arbord.conf")

configure_file("${ARB_PACKAGING_DIR}/systemd/arbord.service.in"
               "${ARB_WORK_DIR}/arbord.service" @ONLY)
file(INSTALL "${ARB_WORK_DIR}/arbord.service" DESTINATION "${unitdir}")

# The live config is the administrator's: installed only when absent.
if(EXISTS "$ENV{DESTDIR}${ARB_CONFIG_FILE}")
  message(STATUS "Keeping: $ENV{DESTDIR}${ARB_CONFIG_FILE}")
else()
  file(INSTALL "${ARB_PACKAGING_DIR}/arbord.conf" DESTINATION "${sysconfdir}/arbor")
endif()
