package pubsub

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// FuzzSubscriptions feeds a stream of subscription messages, as peers
// send them, to the trie and the filter, and checks both against a
// plain model: the prefixes each subscriber holds (a set, as libzmq's
// mtrie keeps them) and the counted prefixes of a SUB (as its trie counts
// them). Each message is a length byte, a subscriber byte, then the frame
// that ParseSubscription reads; frames that are not subscriptions are
// ignored, as a PUB ignores them.
func FuzzSubscriptions(f *testing.F) {
	seed := func(msgs ...string) []byte {
		var b []byte
		for _, m := range msgs {
			b = append(b, byte(len(m)-1))
			b = append(b, m...)
		}
		return b
	}
	f.Add(seed("a\x01topic", "b\x01top", "a\x01topic", "a\x00topic", "b\x00x"), []byte("topical"))
	f.Add(seed("a\x01", "a\x00", "c\x01\xff\x00", "cdata"), []byte("\xff\x00\x01"))
	f.Add([]byte{0}, []byte{})
	f.Fuzz(func(t *testing.T, stream, topic []byte) {
		var tr Trie[byte]
		var flt Filter
		model := map[byte]map[string]bool{}
		counts := map[string]int{}
		for len(stream) >= 2 {
			n := int(stream[0]) + 1
			if n > len(stream)-1 {
				n = len(stream) - 1
			}
			who, frame := stream[1], stream[2:1+n]
			stream = stream[1+n:]
			subscribe, tp, ok := ParseSubscription(frame)
			if !ok {
				continue
			}
			if model[who] == nil {
				model[who] = map[string]bool{}
			}
			if subscribe {
				first, added := tr.Add(tp, who)
				had := false
				for _, set := range model {
					had = had || set[string(tp)]
				}
				if first != !had || added != !model[who][string(tp)] {
					t.Fatalf("Add(%q, %d) = %v, %v", tp, who, first, added)
				}
				model[who][string(tp)] = true
				if flt.Add(tp) != (counts[string(tp)] == 0) {
					t.Fatalf("Filter.Add(%q)", tp)
				}
				counts[string(tp)]++
			} else {
				found, _ := tr.Remove(tp, who)
				if found != model[who][string(tp)] {
					t.Fatalf("Remove(%q, %d) found = %v", tp, who, found)
				}
				delete(model[who], string(tp))
				ffound, last := flt.Remove(tp)
				if ffound != (counts[string(tp)] > 0) || last != (counts[string(tp)] == 1) {
					t.Fatalf("Filter.Remove(%q) = %v, %v", tp, ffound, last)
				}
				if counts[string(tp)] > 0 {
					counts[string(tp)]--
				}
				if counts[string(tp)] == 0 {
					delete(counts, string(tp))
				}
			}
		}
		var got, want []byte
		tr.Match(topic, func(k byte) { got = append(got, k) })
		for who, set := range model {
			for p := range set {
				if bytes.HasPrefix(topic, []byte(p)) {
					want = append(want, who)
				}
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !bytes.Equal(got, want) {
			t.Fatalf("Match(%q) = %v, want %v", topic, got, want)
		}
		has := false
		for p := range counts {
			has = has || strings.HasPrefix(string(topic), p)
		}
		if flt.Has(topic) != has {
			t.Fatalf("Filter.Has(%q) = %v, want %v", topic, !has, has)
		}
		prefixes := 0
		tr.Walk(func([]byte, int) { prefixes++ })
		if prefixes != tr.Prefixes() {
			t.Fatalf("Walk saw %d prefixes, Prefixes says %d", prefixes, tr.Prefixes())
		}
	})
}
