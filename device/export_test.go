package device

// SetMinPrune sets the ready length at which a LoadBalancer started after
// it prunes the entries of gone workers, until the returned function puts
// it back.
func SetMinPrune(n int) (restore func()) {
	old := minPrune
	minPrune = n
	return func() { minPrune = old }
}
