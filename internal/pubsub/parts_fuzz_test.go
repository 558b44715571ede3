package pubsub

import (
	"bytes"
	"testing"

	"github.com/zrouter/zrouter/internal/core"
	"github.com/zrouter/zrouter/internal/msgmeta"
	"github.com/zrouter/zrouter/wire"
)

// splitFrames cuts data into frames at each 0xff byte.
func splitFrames(data []byte) [][]byte { return bytes.Split(data, []byte{0xff}) }

// isSubsequence reports whether sub's frames appear in all, in order.
func isSubsequence(sub, all [][]byte) bool {
	i := 0
	for _, f := range all {
		if i < len(sub) && bytes.Equal(sub[i], f) {
			i++
		}
	}
	return i == len(sub)
}

// FuzzFilterParts feeds messages of several frames, as a subscriber sends
// them, to an XPUB's (or PUB's) filter. What it delivers is a
// subsequence of the frames, in messages none of which is empty, every
// one but the last ending with a subscription passed on; a PUB delivers
// nothing; and the trie holds what a model of the subscriptions applied
// says.
func FuzzFilterParts(f *testing.F) {
	f.Add([]byte("\x01a\xff\x01b"), false, true)
	f.Add([]byte("data\xff\x01x\xff\x00x\xffmore"), true, true)
	f.Add([]byte("\x00q\xff\x01\xff\xff"), false, false)
	f.Fuzz(func(t *testing.T, data []byte, onlyFirst, xpub bool) {
		frames := splitFrames(data)
		if len(frames) < 2 {
			return
		}
		b := NewPub(xpub)
		b.opts.OnlyFirst = onlyFirst
		p := &core.Pipe{}
		s := &subscriber{p: p, topics: map[string]struct{}{}, asked: map[string]struct{}{}}
		b.subs[p] = s
		m := wire.New(frames...)
		defer m.Release()
		keep := b.filterParts(p, m)
		var groups [][][]byte
		if keep {
			groups = append(groups, m.Frames)
			if then, ok := msgmeta.Of(m).Then.([]*wire.Msg); ok {
				for _, x := range then {
					groups = append(groups, x.Frames)
					defer x.Release()
				}
			}
		}
		if !xpub && len(groups) > 0 {
			t.Fatalf("a PUB delivered %q", groups)
		}
		var all [][]byte
		for i, g := range groups {
			if len(g) == 0 {
				t.Fatalf("group %d is empty", i)
			}
			if _, _, ok := ParseSubscription(g[len(g)-1]); !ok && i < len(groups)-1 {
				t.Fatalf("group %d of %d does not end with a notice: %q", i, len(groups), g)
			}
			all = append(all, g...)
		}
		if !isSubsequence(all, frames) {
			t.Fatalf("delivered %q, not a subsequence of %q", all, frames)
		}
		// The model: frames read as subscriptions by libzmq's rule.
		want := map[string]bool{}
		process := true
		for i, fr := range frames {
			sub, topic, ok := false, []byte(nil), false
			if i == 0 || process {
				sub, topic, ok = ParseSubscription(fr)
			}
			if i == 0 {
				process = !onlyFirst || ok
			}
			if ok {
				if sub {
					want[string(topic)] = true
				} else {
					delete(want, string(topic))
				}
			}
		}
		if len(want) != len(s.topics) {
			t.Fatalf("subscribed to %v, want %v", s.topics, want)
		}
		for tp := range want {
			if _, ok := s.topics[tp]; !ok || b.trie.Count([]byte(tp)) != 1 {
				t.Fatalf("not subscribed to %q", tp)
			}
		}
	})
}

// FuzzSendParts feeds an XSUB's messages of several frames to its Send's
// reading of them: what goes out is a subsequence of the frames, and the
// subscriptions counted are those of a model.
func FuzzSendParts(f *testing.F) {
	f.Add([]byte("\x01a\xff\x01a\xff\x00a"), false)
	f.Add([]byte("data\xff\x01x\xff\x00never"), true)
	f.Fuzz(func(t *testing.T, data []byte, onlyFirst bool) {
		frames := splitFrames(data)
		if len(frames) < 2 {
			return
		}
		b := NewSub(true)
		b.onlyFirst = onlyFirst
		m := wire.New(frames...)
		kept := b.sendParts(m)
		var out [][]byte
		if kept {
			out = append(out, m.Frames...)
			defer m.Release()
		}
		if !isSubsequence(out, frames) {
			t.Fatalf("sent %q, not a subsequence of %q", out, frames)
		}
		counts := map[string]int{}
		process := !onlyFirst
		for i, fr := range frames {
			if i > 0 && !process {
				continue
			}
			if sub, topic, ok := ParseSubscription(fr); ok {
				process = true
				if sub {
					counts[string(topic)]++
				} else if counts[string(topic)] > 0 {
					counts[string(topic)]--
					if counts[string(topic)] == 0 {
						delete(counts, string(topic))
					}
				}
			}
		}
		if b.filter.Len() != len(counts) {
			t.Fatalf("%d topics, want %v", b.filter.Len(), counts)
		}
	})
}
