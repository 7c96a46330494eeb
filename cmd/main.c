// SPDX-License-Identifier: GPL-2.0-or-later
#include "cmd.h"

#include <locale.h>

int main(int argc, char **argv)
{
	/*
	 * Image paths are UTF-8 (a Debian image's ca-certificates has non-ASCII names):
	 * libarchive converts a tar's names to the locale's charset and refuses them in "C".
	 * Only the character type changes; numbers and messages stay as they are.
	 */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "C.utf8");
	return cmd_main(argc, argv);
}
