/* libFuzzer target: a client's channel message as the gateway reads it (dp_ws_channel). */
#include <stdint.h>

#include "dockerpty.h"
#include "gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *payload = NULL;
	size_t len = 0;
	int width = 0, height = 0;
	int ch = dp_ws_channel(data, size, &payload, &len, &width, &height);

	if (ch == -1)
		return 0;
	if (size == 0 || ch != data[0] || payload != data + 1 || len != size - 1)
		__builtin_trap();
	if (ch == DP_CH_RESIZE && (width < 1 || width > 65535 || height < 1 || height > 65535))
		__builtin_trap();
	if (ch == DP_CH_CLOSE && (size != 2 || data[1] != DP_CH_STDIN))
		__builtin_trap();
	return 0;
}
