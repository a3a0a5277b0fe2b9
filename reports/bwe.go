package reports

// Bandwidth is the outcome of a bandwidth test case (topology "flows",
// RFC 8867): every flow and every bottleneck link with the metrics of
// RFC 8868. The time series behind them are in Report.Series (metrics
// capacity_kbps, estimate_kbps, send_kbps, receive_kbps,
// queue_delay_ms).
type Bandwidth struct {
	// Links are the bottleneck links that carry at least one flow.
	Links []BottleneckLink `json:"links"`
	// Flows are every flow of the scenario, in declaration order.
	Flows []BandwidthFlow `json:"flows"`
	// Reference is the run of the scenario's reference case (RFC 8867
	// section 5.3: "logs are compared with the reference case"), run
	// before it with the same seed and clock; nil without one.
	Reference *BandwidthReference `json:"reference,omitempty"`
}

// BandwidthReference is a reference run's outcome.
type BandwidthReference struct {
	// Scenario is the reference scenario's name; File where it came from.
	Scenario string `json:"scenario"`
	File     string `json:"file"`
	// Links and Flows are its metrics, as for the run itself.
	Links []BottleneckLink `json:"links"`
	Flows []BandwidthFlow  `json:"flows"`
}

// BottleneckLink is one rate-limited link direction and what its flows
// made of it.
type BottleneckLink struct {
	// Name is "PARTICIPANT uplink" or "PARTICIPANT downlink".
	Name string `json:"name"`
	// Flows names the flows whose bottleneck it is.
	Flows []string `json:"flows"`
	// Utilization is the media flows' (video and audio) sending rate over
	// the capacity, summed over the time at least one media flow was
	// active, 0..1; null when no media flow crosses the link, and when a
	// TCP flow does (RFC 8868 section 3 item 10: not meaningful there).
	Utilization *float64 `json:"utilization"`
	// Fairness1s, Fairness5s and Fairness20s are RFC 8868 section 3 item
	// 7's throughput ratios among the GCC media flows: the mean, over the
	// 1 s, 5 s and 20 s windows of static periods (no capacity step, no
	// flow starting, stopping or pausing) with two or more such flows
	// active, of the smallest throughput over the largest, 0..1; null
	// without such a window.
	Fairness1s  *float64 `json:"fairness_1s"`
	Fairness5s  *float64 `json:"fairness_5s"`
	Fairness20s *float64 `json:"fairness_20s"`
}

// BandwidthFlow is one flow and its RFC 8868 metrics. Metrics that do not
// apply to its kind are null.
type BandwidthFlow struct {
	// Name is the flow's name (NAME-k for copies of a counted flow).
	Name string `json:"name"`
	// Kind is "media" (GCC video), "audio" (CBR audio), "cbr" or "tcp".
	Kind string `json:"kind"`
	// From and To are the sending and receiving participants.
	From string `json:"from"`
	To   string `json:"to"`
	// Link is the flow's bottleneck link; empty when its path has none.
	Link string `json:"link"`
	// StartS and StopS are when it was scheduled to send, scenario seconds.
	StartS float64 `json:"start_s"`
	StopS  float64 `json:"stop_s"`
	// RateKbps is its mean sending rate while active.
	RateKbps float64 `json:"rate_kbps"`
	// ReceiveKbps is its mean receive rate while active.
	ReceiveKbps float64 `json:"receive_kbps"`
	// WireKbps is its mean sending rate on the wire while active: the IP
	// packets of its 5-tuple from the sender (RTP, SRTP tag, its SRTCP,
	// UDP and IPv4 headers), the units the capacity is counted in and
	// its share, ramp-up, convergence and oscillations are judged in.
	WireKbps float64 `json:"wire_kbps"`
	// RampUpS is the time from its start until its 1 s sending rate on
	// the wire came within 20 % of its share; null when not media.
	RampUpS *float64 `json:"ramp_up_s"`
	// RampUpConverged is false when the flow had not come within 20 %
	// of its share by the next change: RampUpS is then a lower bound.
	RampUpConverged bool `json:"ramp_up_converged"`
	// ConvergenceS is the longest convergence time after a later change
	// (see Convergence); null when nothing changed.
	ConvergenceS *float64 `json:"convergence_s"`
	// ConvergedAll is false when after some change the flow did not
	// converge before the next: ConvergenceS is then a lower bound.
	ConvergedAll bool `json:"converged_all"`
	// Convergence lists every change the flow lived through and how long
	// it took to come within 20 % of its new share.
	Convergence []Convergence `json:"convergence"`
	// Oscillation is the coefficient of variation of its 1 s sending rate
	// relative to its share, in windows 5 s or more after any change: the
	// magnitude of oscillation (RFC 8867 section 4.1 item 1.B); for a tcp
	// flow, of its 1 s sending rate over its whole time (section 5.7's
	// "variation in the sending rate of the TCP flow").
	Oscillation *float64 `json:"oscillation"`
	// Oscillations counts swings of its 200 ms sending rate between half
	// and twice its share within 500 ms: RFC 8868 section 3 item 9's
	// watermark definition (media only).
	Oscillations *float64 `json:"oscillations"`
	// FeedbackKbps is the rate of RTCP its receiver sent back (TWCC
	// feedback, NACKs; as marshalled) over its active time: RFC 8867
	// section 4.1 item 1.D's feedback message overhead (media only).
	FeedbackKbps *float64 `json:"feedback_kbps"`
	// PacketsSent, PacketsReceived, BytesSent and BytesReceived count its
	// packets and UDP payload bytes (RFC 8868 section 3 items 2 and 3);
	// sent includes retransmissions, received excludes duplicates.
	PacketsSent     uint64 `json:"packets_sent"`
	PacketsReceived uint64 `json:"packets_received"`
	BytesSent       uint64 `json:"bytes_sent"`
	BytesReceived   uint64 `json:"bytes_received"`
	// QueueDelayP50MS and QueueDelayP95MS are percentiles of its packets'
	// queueing delay: one-way delay minus the configured propagation
	// delay and the packet's serialisation at the bottleneck.
	QueueDelayP50MS *float64 `json:"queue_delay_p50_ms"`
	QueueDelayP95MS *float64 `json:"queue_delay_p95_ms"`
	// DelayCDFMS are the 0th, 1st, ... 100th percentiles of its queueing
	// delay (101 values; empty when no packet arrived).
	DelayCDFMS []float64 `json:"delay_cdf_ms"`
	// LossFraction is the share of its packets lost on their first
	// transmission (media), or of its data segments sent that did not
	// deliver new data, lost or spuriously retransmitted (tcp, RFC 8867
	// section 5.6 "loss for the TCP flow");
	// ResidualLossFraction the share never received after NACK repair
	// (media only, RFC 8868 section 3 item 6).
	LossFraction         *float64 `json:"loss_fraction"`
	ResidualLossFraction *float64 `json:"residual_loss_fraction"`
	// EstimateOvershoot is the 95th percentile of the bandwidth estimate
	// (scaled from payload bytes, which GCC counts, to the wire's by the
	// flow's own ratio) over
	// the flow's share of the available capacity (media only; above 1
	// the estimate claims more than the link has, pion/interceptor#299).
	EstimateOvershoot *float64 `json:"estimate_overshoot"`
	// RateVsReference is RateKbps over that of the media flow of the same
	// name in the reference run, QueueDelayP95VsReferenceMS its
	// QueueDelayP95MS less that flow's (RFC 8867 section 5.3); null
	// without a reference, and when that flow's bottleneck is not the
	// same link (5.3's backward flow, unlimited in the reference).
	RateVsReference            *float64 `json:"rate_vs_reference,omitempty"`
	QueueDelayP95VsReferenceMS *float64 `json:"queue_delay_p95_vs_reference_ms,omitempty"`
}

// Convergence is the flow's reaction to one change.
type Convergence struct {
	// AtS is when the change happened, scenario seconds.
	AtS float64 `json:"at_s"`
	// Change says what changed, e.g. "capacity 2500 kbps", "video-2 joined".
	Change string `json:"change"`
	// ShareKbps is the rate the flow should settle at after it.
	ShareKbps float64 `json:"share_kbps"`
	// S is how long it took; when Converged is false, the time until the
	// next change or the flow's end, without converging.
	S float64 `json:"s"`
	// Converged is false when the flow never came within 20 % of its share
	// before the next change.
	Converged bool `json:"converged"`
}
