package netem

// recentSet counts how often each of the last recentIdentities distinct
// packet identities was offered to a link (fates.occurrence), forgetting
// the oldest first. It replaces a Go map and a ring of its keys: the map
// grew by copying itself to about 400 KB per busy link, and hashing its
// 16-byte keys was 2 % of a quickstart run's CPU. Here the identities and
// their counts sit in one ring, in the order they were first seen, and an
// open-addressed table of ring positions (linear probing, at most half
// full) finds them. The ring grows by chunks, which are never copied, and
// the table by doubling, as the link sees new identities.
type recentSet struct {
	chunks [][]recentEntry // the ring: first-seen order from oldest, wrapping once full
	size   int             // entries in the ring
	oldest int             // ring position of the oldest entry once full
	slots  []uint16        // ring position + 1 (at most recentIdentities) of the entry homed here, 0 if free
}

// recentChunk is the number of ring entries allocated at a time.
const recentChunk = 256

// at returns the ring entry at position p.
func (s *recentSet) at(p int) *recentEntry { return &s.chunks[p/recentChunk][p%recentChunk] }

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
			e := s.at(int(s.slots[i]) - 1)
			e.n++
			return e.n - 1
		}
	}
	if s.size < recentIdentities {
		if s.size%recentChunk == 0 {
			s.chunks = append(s.chunks, make([]recentEntry, recentChunk))
		}
		*s.at(s.size) = recentEntry{key: k, n: 1}
		s.size++
		if 2*s.size > len(s.slots) {
			s.rehash()
			return 0
		}
		i, _ := s.find(k)
		s.slots[i] = uint16(s.size)
		return 0
	}
	// Full: the new identity takes the oldest one's place.
	s.remove(s.at(s.oldest).key)
	*s.at(s.oldest) = recentEntry{key: k, n: 1}
	i, _ := s.find(k)
	s.slots[i] = uint16(s.oldest + 1)
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
		if s.at(int(e)-1).key == k {
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
		h := s.home(s.at(int(s.slots[j]) - 1).key)
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
	for 2*s.size > size {
		size *= 2
	}
	s.slots = make([]uint16, size)
	for p := range s.size {
		i, _ := s.find(s.at(p).key)
		s.slots[i] = uint16(p + 1)
	}
}
