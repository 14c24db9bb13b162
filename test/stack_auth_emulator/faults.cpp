// test/stack_auth_emulator/faults.cpp: fault settings and the seeded draw that picks a fault (faults.hpp).
#include "faults.hpp"

#include <iterator>
#include <stdexcept>

namespace emulator {

namespace {

double
ProbabilityValue(const Json &value, const std::string &key)
{
	if (!value.is_number() || value.get<double>() < 0 || value.get<double>() > 1)
		throw std::invalid_argument(key + " must be a number from 0 to 1");
	return value.get<double>();
}

int
NonNegativeInt(const Json &value, const std::string &key)
{
	if (!value.is_number_integer() || value.get<std::int64_t>() < 0 || value.get<std::int64_t>() > 3600000)
		throw std::invalid_argument(key + " must be an integer from 0 to 3600000");
	return value.get<int>();
}

} // namespace

std::string
FaultName(FaultKind kind)
{
	switch (kind) {
	case FaultKind::TooManyRequests:
		return "429";
	case FaultKind::ServerError:
		return "500";
	case FaultKind::Drop:
		return "drop";
	case FaultKind::LostResponse:
		return "lost-response";
	case FaultKind::HtmlPage:
		return "html";
	case FaultKind::MalformedJson:
		return "malformed-json";
	case FaultKind::None:
		break;
	}
	return "none";
}

void
FaultSettings::Apply(const Json &changes)
{
	if (!changes.is_object())
		throw std::invalid_argument("fault settings must be a JSON object");
	FaultSettings next = *this;
	if (changes.contains("fault_rate"))
		next.SpreadRate(ProbabilityValue(changes["fault_rate"], "fault_rate"));
	for (const auto &[key, value] : changes.items()) {
		if (key == "fault_rate")
			continue;
		else if (key == "fault_429")
			next.fault_429 = ProbabilityValue(value, key);
		else if (key == "fault_500")
			next.fault_500 = ProbabilityValue(value, key);
		else if (key == "fault_drop")
			next.fault_drop = ProbabilityValue(value, key);
		else if (key == "fault_lost_response")
			next.fault_lost_response = ProbabilityValue(value, key);
		else if (key == "fault_html")
			next.fault_html = ProbabilityValue(value, key);
		else if (key == "fault_malformed_json")
			next.fault_malformed_json = ProbabilityValue(value, key);
		else if (key == "retry_after")
			next.retry_after = NonNegativeInt(value, key);
		else if (key == "retry_after_omit_rate")
			next.retry_after_omit_rate = ProbabilityValue(value, key);
		else if (key == "latency_ms")
			next.latency_ms = NonNegativeInt(value, key);
		else if (key == "latency_jitter_ms")
			next.latency_jitter_ms = NonNegativeInt(value, key);
		else
			throw std::invalid_argument("unknown fault setting: " + key);
	}
	next.Check();
	*this = next;
}

void
FaultSettings::Check() const
{
	// One draw picks at most one fault, so the probabilities share the unit interval.
	double sum = 0;
	for (FaultKind kind : kFaultKinds)
		sum += Probability(kind);
	if (sum > 1 + 1e-9)
		throw std::invalid_argument("the fault probabilities add up to more than 1");
}

Json
FaultSettings::ToJson() const
{
	return NormalizeJsNumbers(Json{{"fault_429", fault_429},
								   {"fault_500", fault_500},
								   {"fault_drop", fault_drop},
								   {"fault_lost_response", fault_lost_response},
								   {"fault_html", fault_html},
								   {"fault_malformed_json", fault_malformed_json},
								   {"retry_after", retry_after},
								   {"retry_after_omit_rate", retry_after_omit_rate},
								   {"latency_ms", latency_ms},
								   {"latency_jitter_ms", latency_jitter_ms}});
}

template <class Settings>
auto &
FaultSettings::Field(Settings &settings, FaultKind kind)
{
	switch (kind) {
	case FaultKind::TooManyRequests:
		return settings.fault_429;
	case FaultKind::ServerError:
		return settings.fault_500;
	case FaultKind::Drop:
		return settings.fault_drop;
	case FaultKind::LostResponse:
		return settings.fault_lost_response;
	case FaultKind::HtmlPage:
		return settings.fault_html;
	case FaultKind::MalformedJson:
		return settings.fault_malformed_json;
	case FaultKind::None:
		break;
	}
	throw std::invalid_argument("no probability for fault kind none");
}

double &
FaultSettings::Probability(FaultKind kind)
{
	return Field(*this, kind);
}

double
FaultSettings::Probability(FaultKind kind) const
{
	return Field(*this, kind);
}

void
FaultSettings::SpreadRate(double rate)
{
	for (FaultKind kind : kFaultKinds)
		Probability(kind) = rate / std::size(kFaultKinds);
}

FaultInjector::FaultInjector(FaultSettings settings, std::uint64_t seed) : settings_(settings), rng_(seed)
{
	settings_.Check();
}

FaultDecision
FaultInjector::Decide(bool carried_out)
{
	std::lock_guard<std::mutex> lock(mutex_);
	std::uniform_real_distribution<double> unit(0.0, 1.0);
	FaultDecision decision;

	int jitter = 0;
	if (settings_.latency_jitter_ms > 0)
		jitter = std::uniform_int_distribution<int>(0, settings_.latency_jitter_ms)(rng_);
	decision.delay = std::chrono::milliseconds(settings_.latency_ms + jitter);

	// Always draw, so that a given seed gives the same sequence of faults whatever the requests are.
	double draw = unit(rng_);
	double omit_draw = unit(rng_);
	double edge = 0;
	for (FaultKind kind : kFaultKinds) {
		edge += settings_.Probability(kind);
		if (draw >= edge)
			continue;
		if (kind == FaultKind::LostResponse && !carried_out)
			break; /* only the answer of a create, an update or a delete can be lost */
		decision.kind = kind;
		if (kind == FaultKind::TooManyRequests)
			decision.retry_after = omit_draw < settings_.retry_after_omit_rate ? -1 : settings_.retry_after;
		break;
	}
	return decision;
}

FaultSettings
FaultInjector::Settings() const
{
	std::lock_guard<std::mutex> lock(mutex_);
	return settings_;
}

void
FaultInjector::Apply(const Json &changes)
{
	std::lock_guard<std::mutex> lock(mutex_);
	settings_.Apply(changes);
}

} // namespace emulator
