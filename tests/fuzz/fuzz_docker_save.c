// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A `docker save` or OCI tar (libarchive): manifest.json, the layer tars in it (plain or
 * compressed), whiteouts, links; the image's tree, startup set and JSON.
 */
#include "fuzz.h"

#include "workload/image.h"

#include <json-c/json.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stt_image *img = NULL;
	struct json_object *j = NULL;

	if (stt_image_open_docker_save_mem(data, size, "fuzz.tar", &img))
		return 0;
	if (!stt_image_to_json(img, &j))
		json_object_put(j);
	for (unsigned int i = 0; i < stt_image_layer_count(img); i++)
		for (size_t k = 0; k < stt_image_layer_entries(img, i); k++)
			if (!stt_image_layer_entry(img, i, k)->path)
				abort();
	stt_image_free(img);
	return 0;
}
