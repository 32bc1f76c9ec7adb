# twinslot: choose a slot group (RAUC-compatible variables)
setenv twinslot_boot
for BOOT_SLOT in ${BOOT_ORDER}; do
  if test -z "${twinslot_boot}"; then
    if test "${BOOT_SLOT}" = "A" && test 0${BOOT_A_LEFT} -gt 0; then
      setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1
      setenv twinslot_boot A
    elif test "${BOOT_SLOT}" = "B" && test 0${BOOT_B_LEFT} -gt 0; then
      setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1
      setenv twinslot_boot B
    fi
  fi
done
# Last resort: every group used up its attempts unconfirmed (power cuts during boots, before
# `twinslot boot` ran). Boot the first committed group again; never retry a trial.
for BOOT_SLOT in ${BOOT_ORDER}; do
  if test -z "${twinslot_boot}"; then
    if test "${BOOT_SLOT}" = "A" && test "${BOOT_A_TRIAL}" != "1"; then
      setenv twinslot_boot A
    elif test "${BOOT_SLOT}" = "B" && test "${BOOT_B_TRIAL}" != "1"; then
      setenv twinslot_boot B
    fi
  fi
done

if test -n "${twinslot_boot}"; then
  saveenv
  setenv bootargs "${bootargs} twinslot.slot=${twinslot_boot}"
  run boot_${twinslot_boot}
else
  echo "twinslot: no bootable slot group"
  run boot_recovery
fi
