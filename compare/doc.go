// Package compare sets two rtclab runs side by side, a baseline and a new
// run, and lists every metric that moved beyond its noise: the media
// developer's regression check (rtclab compare OLD NEW).
//
// A run is a report.json, or a run directory holding one, or the
// directory of a run of several scenarios (summary.json), whose reports
// are paired by scenario name.
//
// Noise is decided per pair of reports. Two virtual-clock runs of the
// same scenario with the same seed and duration replay the same packet
// fates, so every number is exact: any change beyond the report's own
// rounding is real (the noise model "exact"). Otherwise (another seed, or
// the real clock) each metric gets a statistical bound by its kind:
// fractions of packets four binomial standard errors of the difference
// (n = packets expected), event counts four Poisson standard deviations of
// the difference, and continuous quantities a relative band with an
// absolute floor (10 % of the baseline, at least the floor of the unit).
//
// Every metric has a direction (loss lower is better, bitrate higher is
// better, ...); a move beyond noise in the bad direction is "worse", and
// a check that passed and now fails is worse too.
package compare
