// Package matrix runs the connectivity matrix: every NAT behaviour calls
// every other in the p2p topology, for each ICE configuration (host only,
// STUN only, STUN+TURN, TURN only), each cell a short scenario in virtual
// time, and checks every cell against what RFC 4787 (NAT mapping and
// filtering) and RFC 8445 (ICE) say must happen.
//
// The grid is data (Plan, built by DefaultPlan or a matrix file, see
// ParseFile); the expectations are one ordered table of rules over the
// two sides' NAT behaviours (Expect, Rules); the known behaviours of pion's
// ICE that differ from that model are a second table (Deviations), each
// pinned by a test. Run runs the cells, one synctest bubble each, and
// returns a Result: plain data with a comment on every field, written as
// matrix.json, a heatmap PNG and a self-contained report.html (Write).
//
// A cell whose path is neither expected nor explained by a known
// deviation fails the grid.
package matrix
