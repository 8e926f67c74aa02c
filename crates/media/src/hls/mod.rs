//! HLS output: [`segmenter`] cuts H.264/AAC into MPEG-TS segments and LL-HLS parts, [`window`]
//! is the live media playlist of the natively written renditions, [`playlist`] holds the text
//! rules for ffmpeg's own variant playlists, and [`master`] writes the master playlist.

pub mod master;
pub mod playlist;
pub mod segmenter;
pub mod window;
