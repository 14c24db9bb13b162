/*
 * parallel.hpp: pure CPU work over many items spread over the machine's cores: planning every Supabase user,
 * digesting what was sent to Stack Auth. The work must touch nothing shared but its own items (no output, no
 * connection); an exception thrown by one part is thrown again once every part has ended.
 */
#pragma once

#include <algorithm>
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

namespace cutover {

/*
 * Calls work(begin, end) over [0, count) split in contiguous parts, one a thread, on up to 4 cores; in this
 * thread alone below `min_per_thread` items a part (a thread costs more than it saves).
 */
template <typename Work>
void
ParallelFor(std::size_t count, Work work, std::size_t min_per_thread = 2000)
{
	std::size_t cores = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4);
	std::size_t parts = std::clamp<std::size_t>(count / std::max<std::size_t>(min_per_thread, 1), 1, cores);
	if (parts == 1) {
		work(std::size_t{0}, count);
		return;
	}
	std::vector<std::exception_ptr> failures(parts);
	std::vector<std::thread> threads;
	threads.reserve(parts - 1);
	auto part = [&](std::size_t index) {
		try {
			work(count * index / parts, count * (index + 1) / parts);
		} catch (...) {
			failures[index] = std::current_exception();
		}
	};
	for (std::size_t index = 1; index < parts; index++)
		threads.emplace_back(part, index);
	part(0);
	for (auto &thread : threads)
		thread.join();
	for (const auto &failure : failures)
		if (failure)
			std::rethrow_exception(failure);
}

} // namespace cutover
