// Package reports renders the outcome of a scenario run.
//
// A run produces one Report, plain data, and this package writes it in the
// forms people and tools read:
//
//   - report.json (WriteJSON, ReadJSON): the Report itself, the contract
//     with users' tooling;
//   - one PNG chart per recorded metric (Plots): bitrate.png, loss.png,
//     rtt.png, then any other metric;
//   - report.html (WriteHTML): one self-contained page, verdict first, with
//     the charts inlined, readable without the JSON and printable;
//   - junit.xml (WriteJUnit): one test case per check, for CI;
//   - the end-of-run terminal summary (WriteText).
//
// Write puts all the files in a directory.
//
// # One house style
//
// Every HTML page rtclab writes (the run report, the multi-run index,
// the matrix, diagnose and compare pages) uses one stylesheet (HouseCSS,
// house.css) and one layout, the verdict first (WritePage), and every
// chart one plot style (Plots, LineChart, HouseFont): a chart of more than
// eight series is drawn as small multiples.
//
// # Schema versioning
//
// report.json carries "schema": "rtclab.report/v1" (Schema). Within a
// version fields are only ever added: a field is never removed, renamed or
// given another type or meaning, so a reader of v1 keeps working with any
// later v1 file as long as it ignores fields it does not know (ReadJSON
// does). Any other change makes a new version, "rtclab.report/v2", which
// ReadJSON of this version refuses with ErrSchema.
package reports
