# `cmake --install BUILD [--prefix P]` layout:
#   P/bin/sluice
#   P/share/doc/sluice/README.md, P/share/doc/sluice/*.md (docs/)
#   P/lib/systemd/system/sluice.service (ExecStart and the doc link point into P)
# lib/systemd/system, not the libdir: systemd reads units from /usr/lib/systemd/system and
# /usr/local/lib/systemd/system whatever the multiarch libdir is.
include(GNUInstallDirs)

install(TARGETS sluice RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
file(GLOB SLUICE_DOCS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${SLUICE_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR})

# packaging/sluice.service names /usr/bin/sluice (a distribution's prefix); the installed copy
# names the binary under the prefix given at install time (so --prefix /opt/sluice works).
install(CODE "
  file(READ \"${PROJECT_SOURCE_DIR}/packaging/sluice.service\" unit)
  string(REPLACE \"/usr/bin/sluice\" \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/sluice\" unit \"\${unit}\")
  string(REPLACE \"/usr/share/doc/sluice\" \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DOCDIR}\" unit \"\${unit}\")
  set(dest \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/lib/systemd/system/sluice.service\")
  message(STATUS \"Installing: \${dest}\")
  file(WRITE \"\${dest}\" \"\${unit}\")
")
