// Package golden compares rendered output with committed golden files, for
// the tests of every renderer (reports, matrix, diagnose, compare). Run a
// package's tests with -update to rewrite its golden files from the
// current output, then review the diff.
package golden
