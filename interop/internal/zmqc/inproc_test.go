package zmqc

import "testing"

func TestInprocLoops(t *testing.T) {
	for _, size := range []int{16, 1 << 10} {
		thr, err := InprocThroughput(size, 10_000, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if thr.Elapsed <= 0 {
			t.Errorf("%d B: throughput run took %v", size, thr.Elapsed)
		}
		lat, err := InprocLatency(size, 1000, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(lat.RTTs) != 1000 || lat.RTTs[999] <= 0 {
			t.Errorf("%d B: %d round trips, the last %v", size, len(lat.RTTs), lat.RTTs[len(lat.RTTs)-1])
		}
	}
}
