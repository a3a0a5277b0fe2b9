package netem

// recentSet counts how often each of the last recentIdentities distinct
// packet identities was offered to a link (fates.occurrence), forgetting
// the oldest first. It replaces a Go map and a ring of its keys: the map
// grew by copying itself to about 400 KB per busy link, and hashing its
// 16-byte keys was 2 % of a quickstart run's CPU. Here the identities and
// their counts sit in one ring, in the order they were first seen, and an
// open-addressed table of ring positions (linear probing, at most half
// full) finds them; both grow as the link sees new identities.
type recentSet struct {
	ring   []recentEntry // first-seen order from oldest, wrapping once full
	oldest int           // ring position of the oldest entry once full
	slots  []int32       // ring position + 1 of the entry homed here, 0 if free
}

type recentEntry struct {
	key identityKey
	n   uint64 // offers so far
}

// minSlots is the table's first size.
const minSlots = 64

// offer counts one offer of k and returns how many times it was offered
// before (0 the first time).
func (s *recentSet) offer(k identityKey) uint64 {
	if len(s.slots) > 0 {
		if i, ok := s.find(k); ok {
			e := &s.ring[s.slots[i]-1]
			e.n++
			return e.n - 1
		}
	}
	if len(s.ring) < recentIdentities {
		s.ring = append(s.ring, recentEntry{key: k, n: 1})
		if 2*len(s.ring) > len(s.slots) {
			s.rehash()
			return 0
		}
		i, _ := s.find(k)
		s.slots[i] = int32(len(s.ring))
		return 0
	}
	// Full: the new identity takes the oldest one's place.
	s.remove(s.ring[s.oldest].key)
	s.ring[s.oldest] = recentEntry{key: k, n: 1}
	i, _ := s.find(k)
	s.slots[i] = int32(s.oldest + 1)
	s.oldest = (s.oldest + 1) % recentIdentities
	return 0
}

// home is the slot where k's probe starts (splitmix64's finaliser).
func (s *recentSet) home(k identityKey) int {
	x := k.class*0x9E3779B97F4A7C15 ^ k.index*0xBF58476D1CE4E5B9
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return int(x & uint64(len(s.slots)-1))
}

// find returns k's slot and true, or the free slot where k would go and
// false.
func (s *recentSet) find(k identityKey) (int, bool) {
	mask := len(s.slots) - 1
	for i := s.home(k); ; i = (i + 1) & mask {
		e := s.slots[i]
		if e == 0 {
			return i, false
		}
		if s.ring[e-1].key == k {
			return i, true
		}
	}
}

// remove takes k out of the table, moving later entries of its probe run
// back so that every entry stays reachable from its home (backward-shift
// deletion; no tombstones).
func (s *recentSet) remove(k identityKey) {
	i, ok := s.find(k)
	if !ok {
		return
	}
	mask := len(s.slots) - 1
	for j := (i + 1) & mask; s.slots[j] != 0; j = (j + 1) & mask {
		h := s.home(s.ring[s.slots[j]-1].key)
		// The entry at j may move to the hole at i if i lies on its
		// probe path, from its home h up to j.
		if (i-h)&mask < (j-h)&mask {
			s.slots[i] = s.slots[j]
			i = j
		}
	}
	s.slots[i] = 0
}

// rehash doubles the table until it is at most half full and enters
// every ring entry again.
func (s *recentSet) rehash() {
	size := max(len(s.slots), minSlots)
	for 2*len(s.ring) > size {
		size *= 2
	}
	s.slots = make([]int32, size)
	for p := range s.ring {
		i, _ := s.find(s.ring[p].key)
		s.slots[i] = int32(p + 1)
	}
}
