package reports

// BandwidthFixture is bweReport for the golden tests of package
// reports_test.
func BandwidthFixture() *Report { return bweReport() }
