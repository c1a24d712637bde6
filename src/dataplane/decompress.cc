// NewDecompressor (see decompress.h): the decoder for a detected compression format.
#include "dataplane/decompress.h"

#include <string>

namespace vdisk::dataplane {

Result<std::unique_ptr<io::Reader>> NewDecompressor(Format format, io::Reader& in,
                                                    unsigned threads) {
  switch (format) {
    case Format::kGzip:
      return std::unique_ptr<io::Reader>(std::make_unique<GzipReader>(in));
    case Format::kXz: {
      VDISK_ASSIGN_OR_RETURN(std::unique_ptr<XzReader> reader, XzReader::Create(in, threads));
      return std::unique_ptr<io::Reader>(std::move(reader));
    }
    case Format::kZstd: {
      VDISK_ASSIGN_OR_RETURN(std::unique_ptr<ZstdReader> reader, ZstdReader::Create(in));
      return std::unique_ptr<io::Reader>(std::move(reader));
    }
    default:
      return InvalidArgument(std::string(FormatName(format)) + " is not a compression format");
  }
}

}  // namespace vdisk::dataplane
