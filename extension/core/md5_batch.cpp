/*
 * md5_batch.cpp: md5 (RFC 1321) in sixteen lanes with AVX-512 or eight with AVX2, and the batching around it.
 */
#include "core/md5_batch.hpp"

#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#define PGC_HAVE_X86 1
/* GCC 12 warns about the deliberately undefined vectors inside its own AVX-512 intrinsics. */
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include "core/pure.hpp"

namespace pgc::core {

namespace {

#ifdef PGC_HAVE_X86

constexpr std::uint32_t kSine[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
	0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
	0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
	0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
	0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* Rotation of each step within its round, and which message word each step reads. */
constexpr int kShift[4][4] = {{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

constexpr int
WordIndex(int step)
{
	return step < 16 ? step : step < 32 ? (5 * step + 1) % 16 : step < 48 ? (3 * step + 5) % 16 : (7 * step) % 16;
}

/* md5 of kLanes padded messages; lane l has blocks[l] blocks of 64 bytes at lanes + l * lane_bytes. */
__attribute__((target("avx2"))) void
Md5x8(const unsigned char *lanes, std::size_t lane_bytes, const std::uint32_t *blocks, std::uint32_t out[4][8])
{
	__m256i a = _mm256_set1_epi32(0x67452301);
	__m256i b = _mm256_set1_epi32(static_cast<int>(0xefcdab89));
	__m256i c = _mm256_set1_epi32(static_cast<int>(0x98badcfe));
	__m256i d = _mm256_set1_epi32(0x10325476);
	const __m256i block_counts = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(blocks));
	const __m256i lane_offsets =
		_mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(static_cast<int>(lane_bytes)));
	std::uint32_t max_blocks = 0;
	for (int l = 0; l < 8; l++)
		max_blocks = blocks[l] > max_blocks ? blocks[l] : max_blocks;

	for (std::uint32_t block = 0; block < max_blocks; block++) {
		__m256i m[16];
		const __m256i block_offsets = _mm256_add_epi32(lane_offsets, _mm256_set1_epi32(static_cast<int>(block * 64)));
		for (int w = 0; w < 16; w++)
			m[w] = _mm256_i32gather_epi32(reinterpret_cast<const int *>(lanes),
										  _mm256_add_epi32(block_offsets, _mm256_set1_epi32(w * 4)), 1);

		__m256i aa = a, bb = b, cc = c, dd = d;
		for (int step = 0; step < 64; step++) {
			__m256i f;
			switch (step / 16) {
			case 0: /* (b & c) | (~b & d) */
				f = _mm256_xor_si256(dd, _mm256_and_si256(bb, _mm256_xor_si256(cc, dd)));
				break;
			case 1: /* (d & b) | (~d & c) */
				f = _mm256_xor_si256(cc, _mm256_and_si256(dd, _mm256_xor_si256(bb, cc)));
				break;
			case 2: /* b ^ c ^ d */
				f = _mm256_xor_si256(bb, _mm256_xor_si256(cc, dd));
				break;
			default: /* c ^ (b | ~d) */
				f = _mm256_xor_si256(cc, _mm256_or_si256(bb, _mm256_xor_si256(dd, _mm256_set1_epi32(-1))));
				break;
			}
			__m256i sum = _mm256_add_epi32(
				_mm256_add_epi32(aa, f),
				_mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(kSine[step])), m[WordIndex(step)]));
			int s = kShift[step / 16][step % 4];
			__m256i rotated = _mm256_or_si256(_mm256_sll_epi32(sum, _mm_cvtsi32_si128(s)),
											  _mm256_srl_epi32(sum, _mm_cvtsi32_si128(32 - s)));
			__m256i next_b = _mm256_add_epi32(bb, rotated);
			aa = dd;
			dd = cc;
			cc = bb;
			bb = next_b;
		}
		/* Lanes whose message has ended keep their digest. */
		__m256i active = _mm256_cmpgt_epi32(block_counts, _mm256_set1_epi32(static_cast<int>(block)));
		a = _mm256_blendv_epi8(a, _mm256_add_epi32(a, aa), active);
		b = _mm256_blendv_epi8(b, _mm256_add_epi32(b, bb), active);
		c = _mm256_blendv_epi8(c, _mm256_add_epi32(c, cc), active);
		d = _mm256_blendv_epi8(d, _mm256_add_epi32(d, dd), active);
	}
	_mm256_storeu_si256(reinterpret_cast<__m256i *>(out[0]), a);
	_mm256_storeu_si256(reinterpret_cast<__m256i *>(out[1]), b);
	_mm256_storeu_si256(reinterpret_cast<__m256i *>(out[2]), c);
	_mm256_storeu_si256(reinterpret_cast<__m256i *>(out[3]), d);
}

/* The same for sixteen lanes with AVX-512: native rotates, and each round function in one instruction. */
template <int Imm>
__attribute__((target("avx512f"))) inline __m512i
Ternary(__m512i b, __m512i c, __m512i d)
{
	return _mm512_ternarylogic_epi32(b, c, d, Imm);
}

__attribute__((target("avx512f"))) void
Md5x16(const unsigned char *lanes, std::size_t lane_bytes, const std::uint32_t *blocks, std::uint32_t out[4][16])
{
	__m512i a = _mm512_set1_epi32(0x67452301);
	__m512i b = _mm512_set1_epi32(static_cast<int>(0xefcdab89));
	__m512i c = _mm512_set1_epi32(static_cast<int>(0x98badcfe));
	__m512i d = _mm512_set1_epi32(0x10325476);
	const __m512i block_counts = _mm512_loadu_si512(blocks);
	const __m512i lane_offsets =
		_mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
						   _mm512_set1_epi32(static_cast<int>(lane_bytes)));
	std::uint32_t max_blocks = 0;
	for (int l = 0; l < 16; l++)
		max_blocks = blocks[l] > max_blocks ? blocks[l] : max_blocks;

	for (std::uint32_t block = 0; block < max_blocks; block++) {
		__m512i m[16];
		const __m512i block_offsets = _mm512_add_epi32(lane_offsets, _mm512_set1_epi32(static_cast<int>(block * 64)));
		for (int w = 0; w < 16; w++)
			m[w] = _mm512_i32gather_epi32(_mm512_add_epi32(block_offsets, _mm512_set1_epi32(w * 4)), lanes, 1);

		__m512i aa = a, bb = b, cc = c, dd = d;
		for (int step = 0; step < 64; step++) {
			__m512i f;
			switch (step / 16) {
			case 0: /* b ? c : d */
				f = Ternary<0xca>(bb, cc, dd);
				break;
			case 1: /* d ? b : c */
				f = Ternary<0xe4>(bb, cc, dd);
				break;
			case 2: /* b ^ c ^ d */
				f = Ternary<0x96>(bb, cc, dd);
				break;
			default: /* c ^ (b | ~d) */
				f = Ternary<0x39>(bb, cc, dd);
				break;
			}
			__m512i sum = _mm512_add_epi32(
				_mm512_add_epi32(aa, f),
				_mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(kSine[step])), m[WordIndex(step)]));
			__m512i rotated = _mm512_rolv_epi32(sum, _mm512_set1_epi32(kShift[step / 16][step % 4]));
			__m512i next_b = _mm512_add_epi32(bb, rotated);
			aa = dd;
			dd = cc;
			cc = bb;
			bb = next_b;
		}
		/* Lanes whose message has ended keep their digest. */
		__mmask16 active = _mm512_cmpgt_epi32_mask(block_counts, _mm512_set1_epi32(static_cast<int>(block)));
		a = _mm512_mask_add_epi32(a, active, a, aa);
		b = _mm512_mask_add_epi32(b, active, b, bb);
		c = _mm512_mask_add_epi32(c, active, c, cc);
		d = _mm512_mask_add_epi32(d, active, d, dd);
	}
	_mm512_storeu_si512(out[0], a);
	_mm512_storeu_si512(out[1], b);
	_mm512_storeu_si512(out[2], c);
	_mm512_storeu_si512(out[3], d);
}

/* Lanes this CPU hashes at once: 16 with AVX-512, 8 with AVX2, else 1 (OpenSSL, row by row). */
int
DetectLanes()
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f"))
		return 16;
	if (__builtin_cpu_supports("avx2"))
		return 8;
	return 1;
}

#endif

/* The digest's 32-bit words are little-endian; the halves read its bytes big-endian. */
std::uint64_t
Half(std::uint32_t first, std::uint32_t second)
{
	return (static_cast<std::uint64_t>(__builtin_bswap32(first)) << 32) | __builtin_bswap32(second);
}

} // namespace

int
RowHashBatch::Lanes()
{
#ifdef PGC_HAVE_X86
	static const int lanes = DetectLanes();
	return lanes;
#else
	return 1;
#endif
}

RowHashBatch::RowHashBatch(int lanes)
{
	int available = Lanes();
	lanes_in_use_ = lanes >= 16 && available >= 16 ? 16 : lanes >= 8 && available >= 8 ? 8 : 1;
}

void
RowHashBatch::Add(Checksum &sum, const void *row, std::size_t len)
{
	if (len > kMaxBatchedRow || lanes_in_use_ == 1) {
		sum.AddRow(std::string_view(static_cast<const char *>(row), len));
		return;
	}
	std::memcpy(lanes_[pending_], row, len);
	CommitLane(sum, len);
}

void
RowHashBatch::CommitLane(Checksum &sum, std::size_t len)
{
	unsigned char *lane = lanes_[pending_];
	std::size_t padded = (len + 9 + 63) / 64 * 64;
	lane[len] = 0x80;
	std::memset(lane + len + 1, 0, padded - len - 9);
	std::uint64_t bits = static_cast<std::uint64_t>(len) * 8;
	for (int i = 0; i < 8; i++)
		lane[padded - 8 + i] = static_cast<unsigned char>(bits >> (8 * i));
	blocks_[pending_] = static_cast<std::uint32_t>(padded / 64);
	lengths_[pending_] = len;
	sums_[pending_] = &sum;
	if (++pending_ == lanes_in_use_)
		HashPending();
}

void
RowSink::Spill(const char *data, std::size_t len)
{
	if (!spilled_) {
		spill_.assign(lane_, len_);
		spilled_ = true;
	}
	spill_.append(data, len);
}

const std::string &
RowSink::Text()
{
	if (!spilled_)
		Spill(nullptr, 0);
	return spill_;
}

void
RowSink::End(RowHashBatch &batch, Checksum &sum)
{
	if (spilled_)
		batch.Add(sum, spill_.data(), spill_.size());
	else
		batch.CommitLane(sum, len_);
}

void
RowHashBatch::Flush()
{
	if (pending_ > 0)
		HashPending();
}

void
RowHashBatch::HashPending()
{
#ifdef PGC_HAVE_X86
	for (int l = pending_; l < kLanes; l++)
		blocks_[l] = 0;
	if (lanes_in_use_ == 16) {
		std::uint32_t words[4][16];
		Md5x16(&lanes_[0][0], kLaneBytes, blocks_, words);
		for (int l = 0; l < pending_; l++)
			sums_[l]->AddHalves(Half(words[0][l], words[1][l]), Half(words[2][l], words[3][l]));
	} else {
		std::uint32_t words[4][8];
		Md5x8(&lanes_[0][0], kLaneBytes, blocks_, words);
		for (int l = 0; l < pending_; l++)
			sums_[l]->AddHalves(Half(words[0][l], words[1][l]), Half(words[2][l], words[3][l]));
	}
#else
	for (int l = 0; l < pending_; l++)
		sums_[l]->AddRow(std::string_view(reinterpret_cast<const char *>(lanes_[l]), lengths_[l]));
#endif
	pending_ = 0;
}

} // namespace pgc::core
